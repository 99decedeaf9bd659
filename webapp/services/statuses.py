"""The platform-wide list of application statuses."""

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import Status

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


def by_code(code: str) -> Status:
    return db.session.scalars(sa.select(Status).where(Status.code == code)).one()
