"""Requested documents: what a campaign asks its candidates for (its editor's "Documents"
tab): a name in each language, required or not, the kinds of file accepted and a size limit.
"""

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from webapp.core import audit, text
from webapp.core.errors import NotFound, ValidationFailed
from webapp.extensions import db
from webapp.models import (
    ApplicationDocument,
    Campaign,
    DocumentKind,
    RequestedDocument,
    User,
)

NAME_MAX = 120

# Each kind: its label, the types its content may have, and the extension of each.
KINDS: dict[str, tuple] = {
    DocumentKind.PDF: (_l("PDF"), {"application/pdf": "pdf"}),
    DocumentKind.IMAGE: (_l("Image (JPEG, PNG, WebP)"), {
        "image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif"}),
    DocumentKind.SPREADSHEET: (_l("Spreadsheet (XLSX, ODS, XLS)"), {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
        "application/vnd.oasis.opendocument.spreadsheet": "ods",
        "application/vnd.ms-excel": "xls"}),
    DocumentKind.WORD_PROCESSING: (_l("Text document (DOCX, ODT, DOC, RTF)"), {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
        "application/vnd.oasis.opendocument.text": "odt",
        "application/msword": "doc", "application/rtf": "rtf"}),
}


def kind_choices() -> list[tuple[str, str]]:
    return [(kind.value, str(KINDS[kind][0])) for kind in DocumentKind]


def kinds_label(requested: RequestedDocument) -> str:
    return ", ".join(str(KINDS[k][0]) for k in requested.kind_list if k in KINDS)


def accepted_extensions(requested: RequestedDocument) -> str:
    """For the file input's accept attribute: a hint to the browser, never trusted."""
    return ",".join(sorted({"." + ext for k in requested.kind_list if k in KINDS
                            for ext in KINDS[k][1].values()}))


def max_file_mb() -> int:
    return int(current_app.config["DOCUMENTS_MAX_FILE_MB"])


@dataclass
class RequestedValues:
    name_fr: str
    name_en: str
    required: bool
    kinds: list[str]
    max_size_mb: int


def requested_documents(campaign: Campaign | int) -> list[RequestedDocument]:
    campaign_id = campaign if isinstance(campaign, int) else campaign.id
    return list(db.session.scalars(
        sa.select(RequestedDocument).where(RequestedDocument.campaign_id == campaign_id)
        .order_by(RequestedDocument.position, RequestedDocument.id)))


def requested_document(campaign: Campaign, requested_id: int) -> RequestedDocument:
    requested = db.session.get(RequestedDocument, requested_id)
    if requested is None or requested.campaign_id != campaign.id:
        raise NotFound()
    return requested


def _check_values(values: RequestedValues) -> dict:
    errors: dict[str, list[str]] = {}
    for name in ("name_fr", "name_en"):
        value = getattr(values, name).strip()
        if not value:
            errors[name] = [str(_l("This field is required."))]
        elif len(value) > NAME_MAX or text.has_controls(value):
            errors[name] = [str(_l("At most %(n)d characters on one line.", n=NAME_MAX))]
    kinds = [k for k in values.kinds if k in {kind.value for kind in DocumentKind}]
    if not kinds or len(kinds) != len(values.kinds):
        errors["kinds"] = [str(_l("Choose at least one type of file."))]
    if not 1 <= (values.max_size_mb or 0) <= max_file_mb():
        errors["max_size_mb"] = [str(_l("Between 1 and %(n)d MB.", n=max_file_mb()))]
    if errors:
        raise ValidationFailed(errors)
    return {"name_fr": values.name_fr.strip(), "name_en": values.name_en.strip(),
            "required": bool(values.required), "kinds": ",".join(kinds),
            "max_size_mb": int(values.max_size_mb)}


def add_requested(actor: User, campaign: Campaign, values: RequestedValues) -> RequestedDocument:
    clean = _check_values(values)
    position = 1 + max((r.position for r in requested_documents(campaign)), default=0)
    requested = RequestedDocument(campaign_id=campaign.id, position=position, **clean)
    db.session.add(requested)
    db.session.flush()
    audit.record(actor, "document.requested", "requested_document", requested.id,
                 clean["name_en"], campaign.id)
    db.session.commit()
    return requested


def update_requested(actor: User, requested: RequestedDocument,
                     values: RequestedValues) -> RequestedDocument:
    clean = _check_values(values)
    for name, value in clean.items():
        setattr(requested, name, value)
    audit.record(actor, "document.request_changed", "requested_document", requested.id,
                 clean["name_en"], requested.campaign_id)
    db.session.commit()
    return requested


def delete_requested(actor: User, requested: RequestedDocument) -> None:
    """Refused once a candidate gave the document: their file would vanish."""
    given = db.session.scalar(sa.select(sa.func.count(ApplicationDocument.id)).where(
        ApplicationDocument.requested_document_id == requested.id))
    if given:
        raise ValidationFailed(str(_l(
            "%(n)d candidates already gave this document: it cannot be deleted. Make it "
            "optional instead.", n=given)))
    audit.record(actor, "document.request_deleted", "requested_document", requested.id,
                 requested.name_en, requested.campaign_id)
    db.session.delete(requested)
    db.session.commit()


def copy_requested(source: Campaign, target: Campaign) -> None:
    """A duplicated campaign asks for the same documents (in the caller's transaction)."""
    for requested in requested_documents(source):
        db.session.add(RequestedDocument(
            campaign_id=target.id, name_fr=requested.name_fr, name_en=requested.name_en,
            required=requested.required, kinds=requested.kinds,
            max_size_mb=requested.max_size_mb, position=requested.position))
