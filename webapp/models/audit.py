from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm

from webapp.models.base import Base, utcnow
from webapp.models.users import User


class AuditEntry(Base):
    """Who did what, when: changes to templates and triggers, outbox actions."""

    __tablename__ = "audit_entries"
    __table_args__ = (sa.Index("ix_audit_entries_object", "object_type", "object_id"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    actor_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    action: orm.Mapped[str] = orm.mapped_column(sa.String(60))
    object_type: orm.Mapped[str] = orm.mapped_column(sa.String(40))
    object_id: orm.Mapped[int | None]
    campaign_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    # Written once, when the action happens, and shown as it is: a name or an address, or a
    # one-line description (a trigger's or reminder's: names, status labels in the language of
    # the person who acted, recipient codes and a few English words).
    summary: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    # Only trigger entries fill it: the trigger before and after, by ids and codes (with the
    # template's name, in case it is deleted), so that the Emails tab's history reads in each
    # reader's language ({"before": {...}, "after": {...}}). Other entries leave it empty.
    details: orm.Mapped[dict] = orm.mapped_column(sa.JSON, default=dict)
    created_at: orm.Mapped[datetime] = orm.mapped_column(default=utcnow)

    actor: orm.Mapped[User | None] = orm.relationship()
