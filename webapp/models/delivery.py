"""What happened after the relay: delivery reports read from the bounce mailbox, the addresses
no longer written to, and automatic emails paused for their bounce rate."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm

from webapp.models.base import Base, enum_check, utcnow


class ReportKind(enum.StrEnum):
    HARD = "hard"  # permanent failure (5.x.x): the address is suppressed at once
    SOFT = "soft"  # temporary failure given up by the relay (4.x.x): scored
    DELAYED = "delayed"  # "still trying": nothing to do
    DELIVERED = "delivered"  # a success report: ends a soft suppression
    COMPLAINT = "complaint"  # RFC 5965 abuse report: suppressed at once
    AUTO_REPLY = "autoreply"  # out of office and the like: ignored
    UNSUBSCRIBE = "unsubscribe"  # a mail to the List-Unsubscribe mailto address
    UNKNOWN = "unknown"  # not understood: kept in the mailbox and listed


class SuppressionKind(enum.StrEnum):
    HARD = "hard"
    SOFT = "soft"
    COMPLAINT = "complaint"
    ADMIN = "admin"
    UNSUBSCRIBED = "unsubscribed"  # one-click unsubscribe: non-transactional mail only


class DeliveryReport(Base):
    """One message read from the bounce mailbox (or a 5xx at RCPT time), filed."""

    __tablename__ = "delivery_reports"
    __table_args__ = (
        enum_check("kind", ReportKind),
        sa.UniqueConstraint("folder", "uidvalidity", "uid", name="mailbox_uid"),
        sa.Index("ix_delivery_reports_address", "address", "created_at"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    kind: orm.Mapped[str] = orm.mapped_column(sa.String(12))
    message_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("outbox_messages.id", ondelete="SET NULL"), index=True)
    address: orm.Mapped[str] = orm.mapped_column(sa.String(254), default="")
    status: orm.Mapped[str] = orm.mapped_column(sa.String(12), default="")  # e.g. 5.1.1
    diagnostic: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    reporter: orm.Mapped[str] = orm.mapped_column(sa.String(255), default="")
    subject: orm.Mapped[str] = orm.mapped_column(sa.String(300), default="")
    from_header: orm.Mapped[str] = orm.mapped_column(sa.String(300), default="")
    folder: orm.Mapped[str | None] = orm.mapped_column(sa.String(200))
    uidvalidity: orm.Mapped[int | None] = orm.mapped_column(sa.BigInteger)
    uid: orm.Mapped[int | None] = orm.mapped_column(sa.BigInteger)
    created_at: orm.Mapped[datetime] = orm.mapped_column(default=utcnow)


class Suppression(Base):
    """An address Missive no longer writes to, why, from what, and until when. Active while
    `ended_at` is empty and `expires_at` (soft bounces) has not passed."""

    __tablename__ = "suppressions"
    __table_args__ = (
        enum_check("kind", SuppressionKind),
        sa.Index("ix_suppressions_address", "address", "ended_at"),
        sa.Index("ix_suppressions_active", "ended_at", "expires_at"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    address: orm.Mapped[str] = orm.mapped_column(sa.String(254))
    kind: orm.Mapped[str] = orm.mapped_column(sa.String(12))
    reason: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    source: orm.Mapped[str] = orm.mapped_column(sa.String(255), default="")
    report_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("delivery_reports.id", ondelete="SET NULL"))
    created_at: orm.Mapped[datetime] = orm.mapped_column(default=utcnow)
    expires_at: orm.Mapped[datetime | None]
    ended_at: orm.Mapped[datetime | None]
    ended_reason: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")


class DeliveryPause(Base):
    """An automatic email (trigger) paused because too many of its last sends hard-bounced;
    its new emails are held until someone resumes it."""

    __tablename__ = "delivery_pauses"
    __table_args__ = (sa.Index("ix_delivery_pauses_trigger", "trigger_id", "resumed_at"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    trigger_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("triggers.id", ondelete="CASCADE"))
    bounced: orm.Mapped[int] = orm.mapped_column(default=0)
    sends: orm.Mapped[int] = orm.mapped_column(default=0)
    created_at: orm.Mapped[datetime] = orm.mapped_column(default=utcnow)
    resumed_at: orm.Mapped[datetime | None]
    resumed_by_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"))
