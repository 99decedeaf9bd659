"""The audit trail: who changed what, when."""

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import AuditEntry, User


def record(actor: User | None, action: str, object_type: str, object_id: int | None,
           summary: str = "", campaign_id: int | None = None) -> AuditEntry:
    """Add an entry to the caller's transaction."""
    entry = AuditEntry(actor_id=actor.id if actor else None, action=action,
                       object_type=object_type, object_id=object_id,
                       campaign_id=campaign_id, summary=summary)
    db.session.add(entry)
    return entry


def history(object_type: str | tuple[str, ...] | None = None, object_id: int | None = None,
            campaign_id: int | None = None, limit: int = 20) -> list[AuditEntry]:
    query = sa.select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if isinstance(object_type, tuple):
        query = query.where(AuditEntry.object_type.in_(object_type))
    elif object_type:
        query = query.where(AuditEntry.object_type == object_type)
    if object_id is not None:
        query = query.where(AuditEntry.object_id == object_id)
    if campaign_id is not None:
        query = query.where(AuditEntry.campaign_id == campaign_id)
    return list(db.session.scalars(query))
