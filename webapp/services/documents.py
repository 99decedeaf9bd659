"""Documents: the files candidates give for what their campaign asks, and who may read them
(what a campaign asks for is webapp.services.requested_documents, re-exported here).

The bytes live in the content-addressed store (webapp.core.storage); rows here name them by
sha256. A file's type is told by its content (the `filetype` sniffer), never by its name; a
file is copied to the store in chunks, never held in memory whole, and refused past its limit
while it is copied.
"""

import logging
import os
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import filetype
import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from webapp import outbox
from webapp.core import clock, storage, text
from webapp.core.errors import NotAllowed, NotFound, ValidationFailed
from webapp.extensions import db
from webapp.models import (
    Application,
    ApplicationDocument,
    OutboxAttachment,
    RequestedDocument,
    Status,
    User,
)
from webapp.services import permissions
from webapp.services.requested_documents import (  # noqa: F401  (the documents' public API)
    KINDS,
    NAME_MAX,
    RequestedValues,
    accepted_extensions,
    add_requested,
    copy_requested,
    delete_requested,
    kind_choices,
    kinds_label,
    max_file_mb,
    requested_document,
    requested_documents,
    update_requested,
)

log = logging.getLogger("missive.documents")

FILENAME_MAX = 200


def store() -> storage.Storage:
    return storage.from_config(current_app.config, current_app.instance_path)


# --- what a candidate gives ---------------------------------------------------------------


def documents_of(application: Application | int) -> list[ApplicationDocument]:
    application_id = application if isinstance(application, int) else application.id
    return list(db.session.scalars(
        sa.select(ApplicationDocument).join(RequestedDocument)
        .where(ApplicationDocument.application_id == application_id)
        .order_by(RequestedDocument.position, RequestedDocument.id)))


@dataclass
class Slot:
    """One requested document and the file given for it, if any."""

    requested: RequestedDocument
    given: ApplicationDocument | None


def slots(application: Application) -> list[Slot]:
    given = {d.requested_document_id: d for d in documents_of(application)}
    return [Slot(r, given.get(r.id)) for r in requested_documents(application.campaign_id)]


def slot_of(candidate: User, application_id: int, requested_id: int) -> tuple[Application, Slot]:
    """The candidate's own application and one of its slots."""
    application = db.session.get(Application, application_id)
    if application is None or application.candidate_id != candidate.id:
        raise NotFound()
    for slot in slots(application):
        if slot.requested.id == requested_id:
            return application, slot
    raise NotFound()


def completeness_errors(application: Application) -> dict[str, list[str]]:
    """The "what is missing" entries of submitting: each required document not given."""
    missing = [s.requested for s in slots(application)
               if s.requested.required and s.given is None]
    if not missing:
        return {}
    from flask_babel import get_locale

    locale = str(get_locale() or "fr")
    return {"documents": [str(_l("The document “%(name)s” is required to submit.",
                                 name=r.name_for(locale))) for r in missing]}


def clean_filename(name: str) -> str:
    """The name shown and sent back: no folder part (refused), no control characters."""
    name = unicodedata.normalize("NFC", name or "").strip()
    if "/" in name or "\\" in name or name in (".", "..") or "\x00" in name:
        raise ValidationFailed(str(_l(
            "The file name must not contain a folder path. Rename the file and try again.")),
            field="file")
    name = text.strip_controls(name, keep_line_breaks=False)
    return re.sub(r"\s+", " ", name).strip().strip(".")


def _named(name: str, extension: str) -> str:
    stem, ext = os.path.splitext(name)
    if ext.lower().lstrip(".") != extension or not stem:
        name = (stem or "document") + "." + extension
    if len(name) > FILENAME_MAX:
        name = name[:FILENAME_MAX - len(extension) - 1] + "." + extension
    return name


def sniff(head: bytes) -> str | None:
    """The type the content says it is, or None."""
    kind = filetype.guess(head)
    return kind.mime if kind is not None else None


def _budget_left(application: Application, replacing: ApplicationDocument | None) -> int:
    used = sum(d.size for d in documents_of(application) if d is not replacing)
    return int(current_app.config["DOCUMENTS_MAX_APPLICATION_MB"]) * 1024 * 1024 - used


def _refuse_unless_draft(application: Application) -> None:
    """A candidate gives or takes back files only while the application is a draft."""
    if application.status.code != Status.DRAFT:
        raise ValidationFailed(str(_l("This application was already submitted: it can no "
                                      "longer be changed.")), field="file")


def upload(candidate: User, application_id: int, requested_id: int, filename: str,
           stream: BinaryIO) -> ApplicationDocument:
    """Give (or replace, while a draft) the file for one requested document. Refused, with
    nothing kept, when empty, of another type than asked, too large, or named with a path."""
    application = db.session.get(Application, application_id)
    if application is None or application.candidate_id != candidate.id:
        raise NotFound()
    requested = db.session.get(RequestedDocument, requested_id)
    if requested is None or requested.campaign_id != application.campaign_id:
        raise NotFound()
    _refuse_unless_draft(application)
    name = clean_filename(filename)
    head = stream.read(storage.HEAD)
    if not head:
        raise ValidationFailed(str(_l("This file is empty. Choose another one.")), field="file")
    mime = sniff(head)
    allowed = {m: ext for k in requested.kind_list if k in KINDS
               for m, ext in KINDS[k][1].items()}
    if mime not in allowed:
        raise ValidationFailed(str(_l(
            "This file is not of an accepted type (%(kinds)s): its content was checked, "
            "whatever its name says.", kinds=kinds_label(requested))), field="file")
    existing = db.session.scalar(sa.select(ApplicationDocument).where(
        ApplicationDocument.application_id == application.id,
        ApplicationDocument.requested_document_id == requested.id))
    budget = _budget_left(application, existing)
    limit = min(requested.max_bytes, budget)
    try:
        stored = store().put(stream, max_bytes=limit, prefix=head)
    except storage.TooLarge:
        if limit < requested.max_bytes:
            message = _l("This file would take your application past its total of "
                         "%(n)d MB of documents.",
                         n=current_app.config["DOCUMENTS_MAX_APPLICATION_MB"])
        else:
            message = _l("This file is larger than %(n)d MB, the limit for this document.",
                         n=requested.max_size_mb)
        raise ValidationFailed(str(message), field="file") from None
    values = {"sha256": stored.sha256, "filename": _named(name, allowed[mime]),
              "content_type": mime, "size": stored.size, "uploaded_at": clock.now()}
    if existing is None:
        existing = ApplicationDocument(application_id=application.id,
                                       requested_document_id=requested.id, **values)
        db.session.add(existing)
    else:
        for key, value in values.items():
            setattr(existing, key, value)
    db.session.commit()
    log.info("Document %s given for application %s (%d bytes, %s)", requested.id,
             application.reference, stored.size, stored.sha256[:12])
    return existing


def remove(candidate: User, application_id: int, requested_id: int) -> None:
    """Take back a file while the application is a draft (the bytes go at the next purge)."""
    application = db.session.get(Application, application_id)
    if application is None or application.candidate_id != candidate.id:
        raise NotFound()
    _refuse_unless_draft(application)
    db.session.execute(sa.delete(ApplicationDocument).where(
        ApplicationDocument.application_id == application.id,
        ApplicationDocument.requested_document_id == requested_id))
    db.session.commit()


# --- who may read them --------------------------------------------------------------------


def readable_application(user: User, application_id: int) -> Application:
    """The application whose documents `user` may read: their own, or one of a campaign
    they may see as staff. Anyone else gets NotFound (their own kind of id is not probed)."""
    application = db.session.get(Application, application_id)
    if application is None:
        raise NotFound()
    if application.candidate_id == user.id:
        return application
    if permissions.can_read_documents(user, application.campaign):
        return application
    if user.is_staff:
        raise NotAllowed()
    raise NotFound()


def document_for(user: User, application_id: int, document_id: int) -> ApplicationDocument:
    application = readable_application(user, application_id)
    document = db.session.get(ApplicationDocument, document_id)
    if document is None or document.application_id != application.id:
        raise NotFound()
    return document


def open_document(document: ApplicationDocument) -> BinaryIO:
    return store().open(document.sha256)


def zip_name(application: Application) -> str:
    return f"{application.reference}-documents.zip"


def zip_stream(documents: list[ApplicationDocument], locale: str = "fr",
               chunk: int = 64 * 1024) -> Iterator[bytes]:
    """A ZIP of the documents, produced as it is sent (each file read in chunks), each named
    after what was asked, in the reader's language."""
    files, used = [], set()
    for document in documents:
        name = f"{document.requested.name_for(locale)}-{document.filename}"
        name = name.replace("/", "-").replace("\\", "-")
        while name in used:
            name = "_" + name
        used.add(name)
        files.append((name, document.sha256, document.size,
                      document.uploaded_at.timetuple()[:6]))
    return _zip_chunks(store(), files, chunk)


class _Sink:
    """A write-only file for ZipFile whose bytes are handed on as they come."""

    def __init__(self):
        self.parts: list[bytes] = []
        self.offset = 0

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        self.offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self.offset

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def _zip_chunks(store_: storage.Storage, files: list, chunk: int) -> Iterator[bytes]:
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, sha256, size, date_time in files:
            info = zipfile.ZipInfo(name, date_time=date_time)
            with archive.open(info, "w", force_zip64=size > 2**31) as entry, \
                    store_.open(sha256) as source:
                while data := source.read(chunk):
                    entry.write(data)
                    yield sink.take()
    yield sink.take()


def referenced_hashes() -> set[str]:
    """Every stored file a row still names (the purge keeps these): given documents, and the
    files frozen on outbox messages (a resend sends them again)."""
    return set(db.session.scalars(sa.select(ApplicationDocument.sha256).distinct())) | set(
        db.session.scalars(sa.select(OutboxAttachment.sha256).distinct()))


def purge_unreferenced(keep: set[str] | None = None) -> int:
    """Remove stored files no row names any more; returns how many."""
    keep = referenced_hashes() | (keep or set())
    removed = 0
    # A file younger than a day may be an upload whose row is not committed yet.
    for sha256 in store().all_hashes(older_than_seconds=24 * 3600):
        if sha256 not in keep:
            store().delete(sha256)
            removed += 1
    return removed


# --- files carried by emails --------------------------------------------------------------


def message_attachments(message_ids: list[int]) -> dict:
    """The files each message carries, by message id (for the pages that list emails)."""
    return outbox.attachments_of(message_ids)


def message_attachment(user: User, message_id: int, position: int):
    """One file an email carried, for admins, the application's assigned staff, and the
    person the email was addressed to; (attachment, open stream)."""
    message = outbox.message(message_id)
    if message is None:
        raise NotFound()
    allowed = permissions.can_watch_outbox(user) or message.recipient_user_id == user.id
    if not allowed and message.application_id is not None:
        application = db.session.get(Application, message.application_id)
        allowed = application is not None and permissions.can_read_documents(
            user, application.campaign)
    if not allowed:
        if user.is_staff:
            raise NotAllowed()
        raise NotFound()
    items = message_attachments([message.id]).get(message.id, [])
    if not 0 <= position < len(items):
        raise NotFound()
    return items[position], store().open(items[position].sha256)


def letters_received(application: Application) -> list[tuple]:
    """The letters (PDF attachments) of the emails sent to the candidate about their
    application: (message, position, attachment), newest first."""
    messages = outbox.sent_about(application.id, application.candidate_id)
    found = message_attachments([m.id for m in messages])
    given = {d.sha256 for d in documents_of(application)}
    return [(message, position, item) for message in messages
            for position, item in enumerate(found.get(message.id, []))
            if item.sha256 not in given]
