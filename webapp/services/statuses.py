"""The platform-wide list of application statuses."""

import logging
import re

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from webapp.core import audit
from webapp.core.errors import NotFound, ValidationFailed
from webapp.extensions import db
from webapp.models import Application, Status, StatusChange, Trigger, User

log = logging.getLogger("missive.statuses")

DEFAULT_STATUSES = [
    # code, English, French, colour, required
    (Status.DRAFT, "Draft", "Brouillon", "#6b7280", True),
    (Status.SUBMITTED, "Submitted", "Envoyé", "#2563eb", True),
    ("under_review", "Under review", "En cours d'évaluation", "#d97706", False),
    ("accepted", "Accepted", "Accepté", "#16a34a", False),
    ("rejected", "Rejected", "Refusé", "#dc2626", False),
    ("waiting_list", "Waiting list", "Liste d'attente", "#7c3aed", False),
]


def ensure_default_statuses() -> None:
    """Create the default statuses that are missing (idempotent; renamed ones are kept)."""
    existing = set(db.session.scalars(sa.select(Status.code)))
    for position, (code, label_en, label_fr, colour, required) in enumerate(DEFAULT_STATUSES):
        if code not in existing:
            db.session.add(Status(code=code, label_en=label_en, label_fr=label_fr,
                                  colour=colour, position=position, is_system=required))
    db.session.flush()


def all_statuses() -> list[Status]:
    return list(db.session.scalars(sa.select(Status).order_by(Status.position, Status.id)))


def get(status_id: int) -> Status:
    """The status: NotFound if there is none."""
    status = db.session.get(Status, status_id)
    if status is None:
        raise NotFound()
    return status


def by_code(code: str) -> Status:
    return db.session.scalars(sa.select(Status).where(Status.code == code)).one()


def save_status(actor: User, status: Status | None, label_en: str, label_fr: str,
                colour: str, position: int) -> Status:
    """Create a status, or rename / recolour / move one (required ones too)."""
    label_en, label_fr = label_en.strip(), label_fr.strip()
    clash = db.session.scalar(sa.select(Status).where(
        sa.or_(Status.label_en == label_en, Status.label_fr == label_fr),
        Status.id != (status.id if status else -1)))
    if clash:
        raise ValidationFailed(str(_l("Another status already has this name.")), field="label_en")
    if status is None:
        status = Status(code=_new_code(label_en), is_system=False)
        db.session.add(status)
    before = f"{status.label_en} / {status.label_fr}" if status.id else ""
    status.label_en, status.label_fr, status.colour, status.position = (
        label_en, label_fr, colour, position)
    db.session.flush()
    audit.record(actor, "status.saved", "status", status.id,
                 f"{before} ⇒ {label_en} / {label_fr}" if before else f"{label_en} / {label_fr}")
    db.session.commit()
    log.info("Status %s saved by %s", status.code, actor.email)
    return status


def delete_status(actor: User, status: Status) -> None:
    """Delete a status no application, history or trigger uses; draft and submitted stay."""
    if status.is_system:
        raise ValidationFailed(str(_l("Draft and Submitted are required: rename them instead.")))
    used = (
        db.session.scalar(sa.select(sa.func.count(Application.id))
                          .where(Application.status_id == status.id))
        or db.session.scalar(sa.select(sa.func.count(StatusChange.id)).where(
            sa.or_(StatusChange.to_status_id == status.id,
                   StatusChange.from_status_id == status.id)))
        or db.session.scalar(sa.select(sa.func.count(Trigger.id)).where(
            sa.or_(Trigger.to_status_id == status.id, Trigger.from_status_id == status.id)))
    )
    if used:
        raise ValidationFailed(str(_l(
            "This status is used by applications, their history or automatic emails: "
            "it cannot be deleted.")))
    audit.record(actor, "status.deleted", "status", status.id,
                 f"{status.label_en} / {status.label_fr}")
    db.session.delete(status)
    db.session.commit()
    log.info("Status %s deleted by %s", status.code, actor.email)


def _new_code(label: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:30] or "status"
    code, n = base, 1
    while db.session.scalar(sa.select(Status.id).where(Status.code == code)):
        n += 1
        code = f"{base}_{n}"
    return code
