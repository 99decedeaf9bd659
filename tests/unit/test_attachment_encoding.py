"""Attachments as they go out: base64 lines of 76 characters with CRLF, read from storage one
chunk at a time, the announced size exact."""

import base64
import email
import email.policy
import io

import pytest

from webapp.core import storage
from webapp.outbox import attachments
from webapp.outbox.attachments import Attached

B64_CHUNK = storage.B64_CHUNK


@pytest.mark.parametrize("size", [0, 1, 2, 3, 56, 57, 58, 76, B64_CHUNK - 1, B64_CHUNK,
                                  B64_CHUNK + 1, 200 * 1024])
def test_lines_are_those_of_the_standard_encoder(size):
    data = bytes(range(256)) * (size // 256 + 1)
    data = data[:size]
    expected = base64.encodebytes(data).replace(b"\n", b"\r\n")
    assert storage.base64_lines(data) == expected
    assert storage.base64_size(size) == len(expected)


def test_a_streamed_message_is_the_message_with_its_files(tmp_path):
    store = storage.FileSystemStorage(tmp_path)
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 1000
    csv = "année;montant\r\n2025;1 000 €\r\n".encode()
    items = [Attached(store.put(io.BytesIO(pdf)).sha256, "Lettre d’acceptation.pdf",
                      "application/pdf", len(pdf)),
             Attached(store.put(io.BytesIO(csv)).sha256, "budget.csv", "text/csv", len(csv))]
    own = (b"Message-ID: <1@example.org>\r\nSubject: Decision\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=\"utf-8\"\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n"
           + base64.encodebytes("Bonjour Zoé".encode()).replace(b"\n", b"\r\n"))
    streamed = attachments.wrap(own, items, store)
    whole = bytes(streamed)
    assert len(streamed) == len(whole)
    assert whole == streamed.head + _tail(streamed)  # read again: the same bytes
    tail = _tail(streamed).split(b"\r\n")
    encoded = [line for line in tail if line and b":" not in line and b"--" not in line]
    assert len(encoded) > 3000 and all(len(line) <= 76 for line in encoded)
    assert not any(line.startswith(b".") for line in tail)  # nothing to dot-stuff
    message = email.message_from_bytes(whole, policy=email.policy.default)
    assert message.get_content_type() == "multipart/mixed"
    assert message.get_body(("plain",)).get_content() == "Bonjour Zoé"
    files = {part.get_filename(): part.get_payload(decode=True)
             for part in message.iter_attachments()}
    assert files == {"Lettre d’acceptation.pdf": pdf, "budget.csv": csv}


def _tail(streamed) -> bytes:
    return b"".join(piece if isinstance(piece, bytes) else piece.read()
                    for piece in streamed.tail())


def test_a_file_stored_before_its_encoded_form_was_kept_goes_out_the_same(tmp_path):
    store = storage.FileSystemStorage(tmp_path)
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 900
    stored = store.put(io.BytesIO(pdf))
    items = [Attached(stored.sha256, "cv.pdf", "application/pdf", len(pdf))]
    own = b"Subject: x\r\nContent-Type: text/plain\r\n\r\nx\r\n"
    streamed = attachments.wrap(own, items, store)
    with_form = _tail(streamed)
    assert any(not isinstance(piece, bytes) for piece in streamed.tail())  # streamed as stored
    next(tmp_path.glob(f"??/??/{stored.sha256}.b64")).unlink()
    assert all(isinstance(piece, bytes) for piece in streamed.tail())  # encoded on the way
    assert _tail(streamed) == with_form
    assert base64.b64decode(with_form.split(b"\r\n\r\n", 1)[1].split(b"--")[0]) == pdf


def test_a_missing_file_is_said_before_anything_is_sent(tmp_path):
    store = storage.FileSystemStorage(tmp_path)
    gone = Attached("a" * 64, "cv.pdf", "application/pdf", 10)
    own = b"Subject: x\r\nContent-Type: text/plain\r\n\r\nx\r\n"
    with pytest.raises(storage.StorageError):
        attachments.wrap(own, [gone], store)
