"""Attachments of outbox messages: frozen at queue time (rows naming stored files by sha256),
read back at claim time, and put around the message's own parts as multipart/mixed.

Every attempt and every resend reads the same stored bytes: a letter is rendered once, when
its email is queued, never again.
"""

import dataclasses
import time
import urllib.parse

import sqlalchemy as sa
from flask import current_app

from webapp.core import storage
from webapp.extensions import db
from webapp.models import OutboxAttachment
from webapp.models.outbox import OutboxMessage

_table = OutboxAttachment.__table__


@dataclasses.dataclass(frozen=True)
class Attached:
    sha256: str
    filename: str
    content_type: str
    size: int
    as_link: bool = False


def add(frozen: dict[str, list[dict]]) -> int:
    """Write the attachments of rows just inserted in the caller's transaction, keyed by their
    Message-ID (bulk inserts return no ids)."""
    if not frozen:
        return 0
    ids = dict(db.session.execute(
        sa.select(OutboxMessage.message_id, OutboxMessage.id)
        .where(OutboxMessage.message_id.in_(list(frozen)))).all())
    rows = [dict(message_id=ids[message_id], position=position, **spec)
            for message_id, specs in frozen.items() if message_id in ids
            for position, spec in enumerate(specs)]
    if rows:
        db.session.execute(sa.insert(_table), rows)
    return len(rows)


def of_messages(message_ids: list[int]) -> dict[int, list[Attached]]:
    found: dict[int, list[Attached]] = {}
    if not message_ids:
        return found
    for row in db.session.execute(
            sa.select(_table.c.message_id, _table.c.sha256, _table.c.filename,
                      _table.c.content_type, _table.c.size, _table.c.as_link)
            .where(_table.c.message_id.in_(message_ids))
            .order_by(_table.c.message_id, _table.c.position, _table.c.id)):
        found.setdefault(row.message_id, []).append(
            Attached(row.sha256, row.filename, row.content_type, row.size, row.as_link))
    return found


def copy(original_id: int, copy_id: int) -> None:
    """A resend carries the original's files (the same stored bytes)."""
    for position, item in enumerate(of_messages([original_id]).get(original_id, [])):
        db.session.execute(sa.insert(_table).values(
            message_id=copy_id, position=position, sha256=item.sha256, filename=item.filename,
            content_type=item.content_type, size=item.size, as_link=item.as_link))


def attach(claimed: list) -> list:
    """The claimed rows, each with the files it carries and the store that holds them (a file
    sent as a link is in the body already)."""
    found = {message_id: [item for item in items if not item.as_link]
             for message_id, items in of_messages([row.id for row in claimed]).items()}
    found = {message_id: items for message_id, items in found.items() if items}
    if not found:
        return claimed
    store = storage.from_config(current_app.config, current_app.instance_path)
    return [dataclasses.replace(row, attachments=tuple(found[row.id]), store=store)
            if row.id in found else row for row in claimed]


def _filename_params(name: str) -> str:
    """RFC 2231: a plain quoted name when it is printable ASCII, else UTF-8 percent-encoded."""
    if name.isascii() and name.isprintable() and '"' not in name and "\\" not in name:
        return f'filename="{name}"'
    return "filename*=utf-8''" + urllib.parse.quote(name, safe="")


def _part_head(item: Attached) -> bytes:
    params = _filename_params(item.filename)
    return (f"Content-Type: {item.content_type}; {params.replace('filename', 'name', 1)}\r\n"
            f"Content-Disposition: attachment; {params}\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n").encode()


def _encoded(store: storage.Storage, sha256: str):
    """The file in base64 lines: its stored form, as an open file to stream as it is, or,
    for a file stored without one, encoded here one chunk at a time."""
    encoded = store.open_encoded(sha256)
    if encoded is not None:
        with encoded:
            yield encoded
        return
    try:
        source = store.open(sha256)
    except storage.StorageError as error:  # gone since wrap() saw it: as a failed write, the
        raise OSError(str(error)) from error  # connection drops, the next attempt says why
    with source:
        while chunk := source.read(storage.B64_CHUNK):
            yield storage.base64_lines(chunk)


class Streamed:
    """A message with attachments as it goes out: its headers and own parts (`head`, which
    DATA dot-stuffs as needed), then the attachments read from storage and encoded one chunk
    at a time (`tail`: bytes, or open files to copy as they are), so that a message is never
    whole in memory. Nothing in the tail needs dot-stuffing: boundaries start with "--", part
    headers with a letter, base64 lines with one of its 64 characters. `bytes(message)` is
    the whole message (to sign it, in tests)."""

    def __init__(self, head: bytes, boundary: str, items, store: storage.Storage):
        self.head = head
        self.boundary = boundary
        self.items = tuple(items)
        self.store = store
        self.size = len(head) + len(self._closing()) + sum(
            len(self._opening(item)) + storage.base64_size(item.size) for item in self.items)

    def _opening(self, item: Attached) -> bytes:
        return f"--{self.boundary}\r\n".encode() + _part_head(item)

    def _closing(self) -> bytes:
        return f"--{self.boundary}--\r\n".encode()

    def tail(self):
        for item in self.items:
            yield self._opening(item)
            yield from _encoded(self.store, item.sha256)
        yield self._closing()

    def __len__(self) -> int:
        return self.size

    def __bytes__(self) -> bytes:
        return b"".join([self.head, *(piece if isinstance(piece, bytes) else piece.read()
                                      for piece in self.tail())])


def wrap(data: bytes, items, store: storage.Storage) -> Streamed:
    """`data` (a message built by mime.build_message) as multipart/mixed: its own parts
    first, then each attachment in base64 lines of 76 characters. The top-level headers end
    where its own Content-Type begins. Raises StorageError, before anything is sent, when a
    file is missing."""
    for item in items:
        if not store.exists(item.sha256):
            raise storage.StorageError(f"no stored file {item.sha256[:12]}")
    split = data.index(b"\r\nContent-Type: ") + 2
    head, inner = data[:split], data[split:]
    boundary = f"=_missive_mixed_{time.monotonic_ns():x}"
    if not inner.endswith(b"\r\n"):
        inner += b"\r\n"
    return Streamed(b"".join([head, f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n'
                              f"\r\n--{boundary}\r\n".encode(), inner]), boundary, items, store)
