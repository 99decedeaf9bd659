from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm

from webapp.models.base import Base, TimestampMixin, utcnow
from webapp.models.campaigns import Campaign
from webapp.models.users import User


class Status(Base):
    """A platform-wide application status. Draft and submitted are required (is_system)."""

    __tablename__ = "statuses"

    DRAFT = "draft"
    SUBMITTED = "submitted"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    code: orm.Mapped[str] = orm.mapped_column(sa.String(40), unique=True)
    label_en: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    label_fr: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    colour: orm.Mapped[str] = orm.mapped_column(sa.String(7), default="#6b7280")
    position: orm.Mapped[int] = orm.mapped_column(default=0)
    is_system: orm.Mapped[bool] = orm.mapped_column(default=False)

    def label_for(self, locale: str | None) -> str:
        return self.label_fr if (locale or "fr").startswith("fr") else self.label_en

    def __repr__(self) -> str:
        return f"<Status {self.code}>"


class Application(TimestampMixin, Base):
    """A candidate's dossier for one campaign."""

    __tablename__ = "applications"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "candidate_id"),
        # Keyset pagination of a campaign's list filtered by status, and unfiltered.
        sa.Index("ix_applications_campaign_status_id", "campaign_id", "status_id", "id"),
        sa.Index("ix_applications_campaign_id_id", "campaign_id", "id"),
        # Reminders "N days after entering a status": a range over the time of entry.
        sa.Index("ix_applications_campaign_status_since", "campaign_id", "status_id",
                 "status_changed_at"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    campaign_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE")
    )
    candidate_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    status_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("statuses.id"))
    reference: orm.Mapped[str] = orm.mapped_column(sa.String(32), unique=True)
    title: orm.Mapped[str] = orm.mapped_column(sa.String(200), default="")
    summary: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    motivation: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    confirmed: orm.Mapped[bool] = orm.mapped_column(default=False)
    submitted_at: orm.Mapped[datetime | None]
    # When the application entered its current status (kept by every status change).
    status_changed_at: orm.Mapped[datetime] = orm.mapped_column(default=utcnow)

    campaign: orm.Mapped[Campaign] = orm.relationship()
    candidate: orm.Mapped[User] = orm.relationship()
    status: orm.Mapped[Status] = orm.relationship()
    history: orm.Mapped[list["StatusChange"]] = orm.relationship(
        back_populates="application",
        order_by="StatusChange.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    def __repr__(self) -> str:
        return f"<Application {self.reference}>"


class StatusChange(Base):
    """One move of an application from a status to another; the event id of status emails."""

    __tablename__ = "status_changes"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    application_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    from_status_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("statuses.id"))
    to_status_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("statuses.id"))
    changed_by_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    comment: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    created_at: orm.Mapped[datetime] = orm.mapped_column(default=utcnow)

    application: orm.Mapped[Application] = orm.relationship(back_populates="history")
    from_status: orm.Mapped[Status | None] = orm.relationship(foreign_keys=[from_status_id])
    to_status: orm.Mapped[Status] = orm.relationship(foreign_keys=[to_status_id])
    changed_by: orm.Mapped[User | None] = orm.relationship()
