"""Where uploaded documents and generated letters live: content-addressed by sha256.

One small interface (put, open, exists, size, delete) so that another store (an S3-compatible
bucket) can be configured later without touching its callers. The file system store keeps
each file once, under <root>/<2 hex>/<2 hex>/<sha256>, outside static/: files are served only
by permission-checked views.

A write never holds the file in memory: it is copied in chunks to a temporary file while
being hashed, then renamed into place, so a reader never sees half a file and two writers of
the same bytes end with one file.

Each file is also kept in the form mail carries it: base64 lines of 76 characters ended by
CRLF (RFC 2045 6.8), written once by put() beside the file. Sending a document or a letter
then never encodes it: the outbox streams that form as it is (over a plain connection the
kernel copies it, `socket.sendfile`), once per send and retry, and a message's worker pays no
per-send encoding with the interpreter's lock held. It costs 1.37 times the file's size on
disk. A file stored before that form existed has none: callers then encode it as they read.
"""

import binascii
import contextlib
import functools
import hashlib
import os
import re
import struct
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK = 64 * 1024
HEAD = 8192  # the first bytes, kept for type sniffing
B64_CHUNK = 57 * 1024  # a multiple of 57 bytes: each encodes to whole 76-character lines
ENCODED = ".b64"  # the suffix of a file's base64 form
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class StorageError(Exception):
    """The store refused or failed."""


class TooLarge(StorageError):
    """The stream was longer than the limit given to put(); nothing was kept."""

    def __init__(self, limit: int):
        self.limit = limit
        super().__init__(f"larger than {limit} bytes")


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int
    head: bytes  # up to HEAD first bytes


class Storage(Protocol):
    def put(self, stream: BinaryIO, max_bytes: int | None = None,
            prefix: bytes = b"") -> Stored: ...

    def open(self, sha256: str) -> BinaryIO: ...

    def open_encoded(self, sha256: str) -> BinaryIO | None: ...

    def exists(self, sha256: str) -> bool: ...

    def size(self, sha256: str) -> int: ...

    def delete(self, sha256: str) -> None: ...

    def all_hashes(self, older_than_seconds: float = 0) -> list[str]: ...


@functools.lru_cache(maxsize=64)
def _lines(count: int) -> struct.Struct:
    """Splits `count` base64 lines of 76 characters in one C call."""
    return struct.Struct("76s" * count)


def base64_lines(chunk: bytes) -> bytes:
    """`chunk` in base64 lines of 76 characters, each ended by CRLF (RFC 2045 6.8), as
    base64.encodebytes would give them with CRLF: ten times cheaper than that, which encodes
    line by line in a Python loop. Chunks of a multiple of 57 bytes join into one encoding."""
    encoded = binascii.b2a_base64(chunk, newline=False)
    full = len(encoded) // 76
    lines = list(_lines(full).unpack_from(encoded)) if full else []
    if len(encoded) > full * 76:
        lines.append(encoded[full * 76:])
    lines.append(b"")
    return b"\r\n".join(lines)


def base64_size(size: int) -> int:
    """The bytes of a file of `size` bytes in base64 lines of 76 characters with CRLF."""
    chars = (size + 2) // 3 * 4
    return chars + 2 * ((chars + 75) // 76)


def check_hash(sha256: str) -> str:
    if not isinstance(sha256, str) or not _SHA256.match(sha256):
        raise StorageError("not a sha256")
    return sha256


class FileSystemStorage:
    """Files under one folder, named by their sha256."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _path(self, sha256: str) -> Path:
        check_hash(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, stream: BinaryIO, max_bytes: int | None = None,
            prefix: bytes = b"") -> Stored:
        """Copy `prefix` then the stream into the store; TooLarge past `max_bytes` bytes."""
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        head = bytearray()
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="put-")
        try:
            with os.fdopen(fd, "wb") as out:
                chunk = prefix
                while True:
                    if chunk:
                        size += len(chunk)
                        if max_bytes is not None and size > max_bytes:
                            raise TooLarge(max_bytes)
                        digest.update(chunk)
                        if len(head) < HEAD:
                            head += chunk[:HEAD - len(head)]
                        out.write(chunk)
                    chunk = stream.read(CHUNK)
                    if not chunk:
                        break
                out.flush()
                os.fsync(out.fileno())
            sha256 = digest.hexdigest()
            target = self._path(sha256)
            target.parent.mkdir(parents=True, exist_ok=True)
            # The encoded form first: a file that exists has it.
            self._write_encoded(tmp_name, target.with_name(sha256 + ENCODED), tmp_dir)
            os.replace(tmp_name, target)  # the same bytes twice: the same file, kept once
            tmp_name = None
            return Stored(sha256=sha256, size=size, head=bytes(head))
        finally:
            if tmp_name is not None:
                try:
                    os.unlink(tmp_name)
                except FileNotFoundError:
                    pass

    @staticmethod
    def _write_encoded(source: str, target: Path, tmp_dir: Path) -> None:
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="b64-")
        try:
            with open(source, "rb") as raw, os.fdopen(fd, "wb") as out:
                while chunk := raw.read(B64_CHUNK):
                    out.write(base64_lines(chunk))
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp_name, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise

    def open_encoded(self, sha256: str) -> BinaryIO | None:
        """The file as base64 lines of 76 characters with CRLF, or None if it has no such
        form (stored before it was kept)."""
        try:
            return open(self._path(sha256).with_name(sha256 + ENCODED), "rb")
        except FileNotFoundError:
            return None

    def open(self, sha256: str) -> BinaryIO:
        try:
            return open(self._path(sha256), "rb")
        except FileNotFoundError as error:
            raise StorageError(f"no stored file {sha256[:12]}") from error

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    def size(self, sha256: str) -> int:
        try:
            return self._path(sha256).stat().st_size
        except FileNotFoundError as error:
            raise StorageError(f"no stored file {sha256[:12]}") from error

    def delete(self, sha256: str) -> None:
        path = self._path(sha256)
        for form in (path, path.with_name(sha256 + ENCODED)):
            with contextlib.suppress(FileNotFoundError):
                form.unlink()

    def all_hashes(self, older_than_seconds: float = 0) -> list[str]:
        """The stored files, those written at least `older_than_seconds` ago."""
        if not self.root.is_dir():
            return []
        before = time.time() - older_than_seconds
        return sorted(p.name for p in self.root.glob("??/??/*")
                      if _SHA256.match(p.name) and p.stat().st_mtime <= before)


_stores: dict[tuple, Storage] = {}


def from_config(config: Mapping, instance_path: str) -> Storage:
    """The store the configuration names (STORAGE_BACKEND; "filesystem" is the only one
    built in: STORAGE_PATH, by default <instance>/files)."""
    backend = config.get("STORAGE_BACKEND") or "filesystem"
    if backend != "filesystem":
        raise StorageError(f"unknown STORAGE_BACKEND {backend!r}")
    root = config.get("STORAGE_PATH") or os.path.join(instance_path, "files")
    key = (backend, str(root))
    if key not in _stores:
        _stores[key] = FileSystemStorage(root)
    return _stores[key]
