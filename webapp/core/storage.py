"""Where uploaded documents and generated letters live: content-addressed by sha256.

One small interface (put, open, exists, size, delete) so that another store (an S3-compatible
bucket) can be configured later without touching its callers. The file system store keeps
each file once, under <root>/<2 hex>/<2 hex>/<sha256>, outside static/: files are served only
by permission-checked views.

A write never holds the file in memory: it is copied in chunks to a temporary file while
being hashed, then renamed into place, so a reader never sees half a file and two writers of
the same bytes end with one file.
"""

import hashlib
import os
import re
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK = 64 * 1024
HEAD = 8192  # the first bytes, kept for type sniffing
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

    def exists(self, sha256: str) -> bool: ...

    def size(self, sha256: str) -> int: ...

    def delete(self, sha256: str) -> None: ...

    def all_hashes(self, older_than_seconds: float = 0) -> list[str]: ...


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
            os.replace(tmp_name, target)  # the same bytes twice: the same file, kept once
            tmp_name = None
            return Stored(sha256=sha256, size=size, head=bytes(head))
        finally:
            if tmp_name is not None:
                try:
                    os.unlink(tmp_name)
                except FileNotFoundError:
                    pass

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
        try:
            self._path(sha256).unlink()
        except FileNotFoundError:
            pass

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
