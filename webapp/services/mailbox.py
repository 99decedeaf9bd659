"""The development mail catcher's mailbox: caught messages as .eml files in instance/mailbox.

The catcher (jobs/embedded.py) stores; the Mailbox page lists and reads. Files survive a
restart of `make run`, and only the newest KEEP are kept.
"""

import email
import email.policy
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from pathlib import Path

from flask import current_app

from webapp.core.errors import NotFound
from webapp.core.paging import Page, list_page

PAGE_SIZE = 100

KEEP = 500
ENVELOPE_HEADER = "X-Mailbox-Envelope-To"
# What store() writes: nanoseconds since 1970 (19 digits until the year 2286) and 8 hex digits.
_NAME = re.compile(r"\d{1,20}-[0-9a-f]{8}\.eml")


@dataclass(frozen=True)
class Caught:
    name: str
    received_at: datetime
    sender: str
    to: str
    subject: str
    message_id: str


@dataclass(frozen=True)
class CaughtMessage:
    summary: Caught
    headers: list[tuple[str, str]]
    text: str
    html: str


def folder() -> Path:
    return Path(current_app.instance_path) / "mailbox"


def store(into: Path, data: bytes, recipients: list[str]) -> str:
    """Save one caught message (with its envelope recipients, which Bcc hides); no app
    context needed: the catcher runs in its own thread."""
    into.mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
    envelope = f"{ENVELOPE_HEADER}: {', '.join(recipients)}\r\n".encode()
    (into / name).write_bytes(envelope + data)
    for old in sorted(into.glob("*.eml"))[:-KEEP]:
        old.unlink(missing_ok=True)
    return name


def _summary(path: Path, message) -> Caught:
    received = datetime.fromtimestamp(int(path.name.split("-")[0]) / 1e9, UTC)
    return Caught(name=path.name, received_at=received.replace(tzinfo=None),
                  sender=str(message["From"] or ""),
                  to=str(message[ENVELOPE_HEADER] or message["To"] or ""),
                  subject=str(message["Subject"] or ""),
                  message_id=str(message["Message-ID"] or ""))


def list_caught(number: int = 1, size: int = PAGE_SIZE) -> Page:
    """Page `number` of the caught messages, newest first (only its own files are read)."""
    page = list_page(sorted(folder().glob("*.eml"), reverse=True), number, size)
    parser = BytesHeaderParser(policy=email.policy.default)
    page.rows = [_summary(p, parser.parsebytes(p.read_bytes())) for p in page.rows]
    return page


def version() -> str:
    """Changes whenever a message arrives or leaves: lets a polling page skip a refresh."""
    names = sorted(path.name for path in folder().glob("*.eml"))
    return f"{len(names)}-{names[-1] if names else ''}"


def get(name: str) -> CaughtMessage:
    if not _NAME.fullmatch(name):
        raise NotFound(name)
    path = folder() / name
    try:
        data = path.read_bytes()
    except OSError:  # gone meanwhile (the mailbox keeps the newest only), or never there
        raise NotFound(name) from None
    message = email.message_from_bytes(data, policy=email.policy.default)
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    return CaughtMessage(
        summary=_summary(path, message),
        headers=[(k, str(v)) for k, v in message.items()],
        text=text.get_content() if text is not None else "",
        html=html.get_content() if html is not None else "",
    )


def clear() -> int:
    paths = list(folder().glob("*.eml"))
    for path in paths:
        path.unlink(missing_ok=True)
    return len(paths)
