"""DKIM signing (RFC 6376), relaxed/simple, rsa-sha256, for DKIM_DOMAIN with DKIM_SELECTOR and
the private key in DKIM_PRIVATE_KEY_FILE (PEM).

The message is the outbox builder's own (CRLF lines, each header once), so its header block is
read once, only the signed headers canonicalised, and the body hashed as it is; dkimpy (the
verifier the tests run) parsing and canonicalising the whole message cost as much again as the
RSA step. That step is `cryptography`'s (OpenSSL): dkimpy's own RSA, in Python, costs 11 ms a
message, more than the whole SMTP exchange on a loopback relay.

The signed headers are listed here, explicitly (a header absent from a message is signed as
absent, so nobody can add it on the way): the ones a reader sees, the ones the receiving
providers act on (List-Unsubscribe, List-Unsubscribe-Post, Feedback-ID).

Pure: no Flask, no database.
"""

import base64
import functools
import hashlib
import re
import threading
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, utils

SIGNED_HEADERS = (b"from", b"to", b"cc", b"reply-to", b"subject", b"date", b"message-id",
                  b"mime-version", b"content-type", b"list-unsubscribe",
                  b"list-unsubscribe-post", b"feedback-id", b"auto-submitted")
_SIGNED = frozenset(SIGNED_HEADERS)
_WSP = re.compile(rb"[ \t]+")
_PADDING = padding.PKCS1v15()
_PREHASHED = utils.Prehashed(hashes.SHA256())
# At most what the DKIM-Signature header adds to a message (its tags, the 2048-bit or 4096-bit
# signature, folding), beyond the domain and selector: for SIZE, declared before signing.
MAX_SIGNATURE_BYTES = 2048
_key_lock = threading.Lock()


@functools.lru_cache(maxsize=4)
def _load_key(path: str):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


def load_key(path: str):
    """The private key in `path`, read and checked once: the senders starting together wait
    for the first one's load rather than each checking the key (tens of ms each)."""
    with _key_lock:
        return _load_key(path)


def _relaxed(name: bytes, value: bytes) -> bytes:
    """RFC 6376 3.4.2: lower-case name, unfolded value, whitespace runs as one space."""
    return name.lower().rstrip() + b":" + _WSP.sub(b" ", value.replace(b"\r\n", b"")).strip()


def _signed_fields(head: bytes) -> dict[bytes, bytes]:
    """The signed headers of a header block (the builder's: CRLF lines, folded lines start
    with whitespace), relaxed; the last one of a name is the one signed (RFC 6376 5.4.2).

    The whole block is unfolded and its whitespace runs collapsed at once (two C calls),
    then split into fields: per header, that was a regular expression call each and a
    tenth of the signing's own Python time (`python -m bench.delivery --only dkim`)."""
    fields: dict[bytes, bytes] = {}
    flat = _WSP.sub(b" ", head.replace(b"\r\n ", b" ").replace(b"\r\n\t", b"\t"))
    for line in flat.split(b"\r\n"):
        name, _, value = line.partition(b":")
        name = name.lower().rstrip()
        if name in _SIGNED:
            fields[name] = name + b":" + value.strip()
    return fields


def _header(fields: list[bytes]) -> bytes:
    """`DKIM-Signature: tag=value; ...` with its tags folded onto lines of at most 78
    characters where they allow (before a tag, or between the signed header names), and an
    empty b= alone on the last line: the signature goes there, folded on lines of its own,
    and what precedes it is the same bytes before and after signing."""
    lines, line = [], b"DKIM-Signature:"
    for token in fields:
        if len(line) + 1 + len(token) > 78 and len(line) > 1:
            lines.append(line)
            line = b""
        line += b" " + token
    lines.append(line)
    return b"\r\n".join(lines) + b"\r\n b="


def _tokens(domain: str, selector: str, now: float | None, bodyhash: bytes) -> list[bytes]:
    names = [name + b" :" for name in SIGNED_HEADERS[:-1]] + [SIGNED_HEADERS[-1] + b";"]
    return [b"v=1;", b"a=rsa-sha256;", b"c=relaxed/simple;", b"d=" + domain.encode() + b";",
            b"q=dns/txt;", b"s=" + selector.encode() + b";",
            b"t=" + str(int(now or time.time())).encode() + b";",
            b"h=" + names[0], *names[1:], b"bh=" + bodyhash + b";"]


def signature(data: bytes, domain: str, selector: str, key,
              now: float | None = None) -> bytes:
    """The `DKIM-Signature: ...\\r\\n` header line(s) to put before the message, which is the
    outbox builder's (CRLF lines, a blank line after the headers): its header block is read
    once, the body hashed as it is (simple: only empty lines at its end are dropped)."""
    end = data.find(b"\r\n\r\n")
    head, body = (data, b"") if end < 0 else (data[:end], data[end + 4:])
    body = body.rstrip(b"\r\n") + b"\r\n" if body.strip(b"\r\n") else b"\r\n"
    bodyhash = base64.b64encode(hashlib.sha256(body).digest())
    unsigned = _header(_tokens(domain, selector, now, bodyhash))
    digest = hashlib.sha256()
    signed = _signed_fields(head)
    for name in SIGNED_HEADERS:  # a header absent is signed as absent: nothing hashed
        if name in signed:
            digest.update(signed[name] + b"\r\n")
    digest.update(_relaxed(b"DKIM-Signature", unsigned[len(b"DKIM-Signature:"):]))
    # The RSA step releases the GIL: the other senders' Python runs meanwhile.
    b = base64.b64encode(key.sign(digest.digest(), _PADDING, _PREHASHED))
    return unsigned + b"\r\n ".join(b[i:i + 72] for i in range(0, len(b), 72)) + b"\r\n"


def sign(data: bytes, domain: str, selector: str, key_file: str) -> bytes:
    """The message with its DKIM-Signature first."""
    return signature(data, domain, selector, load_key(key_file)) + data
