"""The per-message bounce address (VERP) and the reference that names an outbox row.

With `BOUNCE_ADDRESS = "bounces@apply.example.org"`, the message of row 42 leaves with the
envelope sender `bounces+42-<signature>@apply.example.org`: a report that comes back to that
address names its row, and the signature (an HMAC of the row id with the app's secret) tells
a real report from a forged one. The same reference goes in the `X-Missive-Ref` header (and in
the DSN's ENVID), for servers that return only the original headers.

Pure: no Flask, no database.
"""

import hashlib
import hmac
import re

REFERENCE_HEADER = "X-Missive-Ref"
_SIGNATURE_LENGTH = 16  # hex characters: 64 bits
_REFERENCE = re.compile(rf"(\d{{1,18}})-([0-9a-f]{{{_SIGNATURE_LENGTH}}})", re.IGNORECASE)


def _signature(row_id: int, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"outbox:{row_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:_SIGNATURE_LENGTH]


def reference(row_id: int, secret: str) -> str:
    """`<row id>-<signature>`: lower case, since some servers lower-case local parts."""
    return f"{row_id}-{_signature(row_id, secret)}"


def bounce_address(bounce: str, row_id: int, secret: str) -> str:
    """`bounces@domain` -> `bounces+<reference>@domain`."""
    local, _, domain = bounce.rpartition("@")
    return f"{local}+{reference(row_id, secret)}@{domain}"


def row_of(text: str, secret: str) -> int | None:
    """The row a reference names, found anywhere in `text` (an address, a header, an ENVID),
    if its signature holds; None otherwise."""
    for match in _REFERENCE.finditer(text or ""):
        row_id = int(match.group(1))
        if hmac.compare_digest(match.group(2).lower(), _signature(row_id, secret)):
            return row_id
    return None
