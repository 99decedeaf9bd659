import enum
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import orm

from webapp.models.applications import Status
from webapp.models.base import Base, TimestampMixin, enum_check
from webapp.models.campaigns import Campaign
from webapp.models.emails import EmailTemplate


class ReminderKind(enum.StrEnum):
    BEFORE_CLOSING = "before_closing"  # N days or hours before the campaign closes
    IN_STATUS = "in_status"  # N days after an application entered a status and stayed


class OffsetUnit(enum.StrEnum):
    DAYS = "days"
    HOURS = "hours"


class Reminder(TimestampMixin, Base):
    """A campaign's scheduled reminder ("relance"), fired by the worker's cron job."""

    __tablename__ = "reminders"
    __table_args__ = (
        enum_check("kind", ReminderKind),
        enum_check("offset_unit", OffsetUnit),
        sa.CheckConstraint("offset_amount > 0", name="offset_positive"),
        sa.CheckConstraint("max_times >= 1", name="max_times_positive"),
        sa.CheckConstraint("kind = 'before_closing' OR status_id IS NOT NULL",
                           name="in_status_has_status"),
        sa.Index("ix_reminders_campaign", "campaign_id", "id"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    # In the dedupe keys of its emails. Unlike the id (which SQLite hands out again after a
    # delete), never the same for two reminders: a re-created reminder is a new one.
    uid: orm.Mapped[str] = orm.mapped_column(sa.String(32), unique=True,
                                             default=lambda: uuid.uuid4().hex)
    campaign_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE")
    )
    kind: orm.Mapped[str] = orm.mapped_column(sa.String(20))
    template_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("email_templates.id", ondelete="RESTRICT"), index=True
    )
    offset_amount: orm.Mapped[int]
    offset_unit: orm.Mapped[str] = orm.mapped_column(sa.String(8), default=OffsetUnit.DAYS)
    # In status: the status; before closing: unused (drafts, plus `also_status_ids`).
    status_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("statuses.id"))
    also_status_ids: orm.Mapped[list] = orm.mapped_column(sa.JSON, default=list)
    repeat_every_days: orm.Mapped[int | None]
    max_times: orm.Mapped[int] = orm.mapped_column(default=1)
    to_candidate: orm.Mapped[bool] = orm.mapped_column(default=True)
    to_managers: orm.Mapped[bool] = orm.mapped_column(default=False)
    to_evaluators: orm.Mapped[bool] = orm.mapped_column(default=False)
    extra_addresses: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    active: orm.Mapped[bool] = orm.mapped_column(default=True)
    # Not transactional unless a manager says so: reminders carry one-click unsubscribe and
    # are not sent to someone who unsubscribed; a transactional one is, without the link.
    transactional: orm.Mapped[bool] = orm.mapped_column(default=False,
                                                        server_default=sa.false())
    # The `now` of the last run that planned this reminder: the next run looks at the moments
    # since then (so a run after downtime catches up), never before.
    last_run_at: orm.Mapped[datetime | None]
    # Before the closing date: the closing date that run saw. When the date has moved since,
    # the moment is a new one (the reminder refers to the current closing date).
    last_closes_at: orm.Mapped[datetime | None]

    campaign: orm.Mapped[Campaign] = orm.relationship()
    template: orm.Mapped[EmailTemplate] = orm.relationship()
    status: orm.Mapped[Status | None] = orm.relationship()

    @property
    def offset(self) -> timedelta:
        return timedelta(**{self.offset_unit: self.offset_amount})

    @property
    def times(self) -> int:
        """How many times at most per application (and stay in the status)."""
        return self.max_times if self.kind == ReminderKind.IN_STATUS and \
            self.repeat_every_days else 1

    def __repr__(self) -> str:
        return f"<Reminder {self.id} {self.kind} campaign={self.campaign_id}>"


class ReminderDelivery(Base):
    """An application reminded by a reminder for one occurrence: (the closing date) or (the
    entry in the status, the repeat number). Kept as long as the reminder and the application
    (the outbox purge does not touch it), so an edited reminder never reminds anyone twice
    for the same occurrence."""

    __tablename__ = "reminder_deliveries"

    reminder_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("reminders.id", ondelete="CASCADE"), primary_key=True)
    application_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("applications.id", ondelete="CASCADE"), primary_key=True, index=True)
    occurrence: orm.Mapped[str] = orm.mapped_column(sa.String(40), primary_key=True)
    created_at: orm.Mapped[datetime]
