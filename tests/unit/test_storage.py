"""The content-addressed file store: streamed in, named by sha256, nothing half-written."""

import base64
import hashlib
import io

import pytest

from webapp.core import storage


def test_a_file_is_kept_once_under_its_hash(tmp_path):
    store = storage.FileSystemStorage(tmp_path)
    data = b"%PDF-1.4\n" + b"x" * 200_000
    first = store.put(io.BytesIO(data))
    again = store.put(io.BytesIO(data))
    assert first.sha256 == again.sha256 == hashlib.sha256(data).hexdigest()
    assert first.size == len(data) and first.head == data[:storage.HEAD]
    assert store.exists(first.sha256) and store.size(first.sha256) == len(data)
    with store.open(first.sha256) as stream:
        assert stream.read() == data
    assert store.all_hashes() == [first.sha256]
    store.delete(first.sha256)
    assert not store.exists(first.sha256)
    assert store.open_encoded(first.sha256) is None
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # both forms gone


@pytest.mark.parametrize("size", [0, 1, 57, 58 * 1024 + 3, 300_000])
def test_the_form_mail_carries_is_kept_beside_the_file(tmp_path, size):
    store = storage.FileSystemStorage(tmp_path)
    data = bytes(range(256)) * (size // 256 + 1)
    data = data[:size]
    stored = store.put(io.BytesIO(data))
    with store.open_encoded(stored.sha256) as encoded:
        assert encoded.read() == base64.encodebytes(data).replace(b"\n", b"\r\n")
    assert storage.base64_size(size) == len(base64.encodebytes(data)) * 2 - len(
        base64.encodebytes(data).replace(b"\n", b""))


def test_a_prefix_read_before_counts_as_the_start_of_the_file(tmp_path):
    store = storage.FileSystemStorage(tmp_path)
    stored = store.put(io.BytesIO(b"world"), prefix=b"hello ")
    with store.open(stored.sha256) as stream:
        assert stream.read() == b"hello world"


def test_past_the_limit_nothing_is_kept(tmp_path):
    store = storage.FileSystemStorage(tmp_path)
    with pytest.raises(storage.TooLarge):
        store.put(io.BytesIO(b"y" * 300_000), max_bytes=100_000)
    assert store.all_hashes() == []
    assert list((tmp_path / "tmp").iterdir()) == []


def test_names_that_are_not_hashes_are_refused(tmp_path):
    store = storage.FileSystemStorage(tmp_path)
    for name in ("../../etc/passwd", "ab" * 40, ""):
        with pytest.raises(storage.StorageError):
            store.open(name)
