import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm

from webapp.models.base import Base, TimestampMixin, enum_check, utcnow


class OutboxState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"
    HELD = "held"  # written by a trigger that holds its emails for review; never claimed
    SUPPRESSED = "suppressed"  # the recipient is on the suppression list: never claimed


class OutboxPriority(enum.IntEnum):
    """Claims take urgent rows first, then normal, then bulk (a share of each claim goes to
    the oldest due rows whatever their priority, so bulk is never starved)."""

    URGENT = 0  # account emails, acknowledgements of receipt, test sends
    NORMAL = 1  # a single status change
    BULK = 2  # a status change of more than OUTBOX_BULK_THRESHOLD applications at once


class OutboxMessage(TimestampMixin, Base):
    """A fully rendered email waiting for, or done with, delivery."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        enum_check("state", OutboxState),
        sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        sa.CheckConstraint("priority IN (0, 1, 2)", name="priority_valid"),
        # The drain's claims: due rows of one priority, oldest first (an index seek, no sort)...
        sa.Index("ix_outbox_messages_claim", "state", "priority", "next_attempt_at", "id"),
        # ... and the oldest due rows whatever their priority (the share that prevents
        # starvation).
        sa.Index("ix_outbox_messages_due", "state", "next_attempt_at", "id"),
        sa.Index("ix_outbox_messages_lease", "state", "lease_expires_at"),
        sa.Index("ix_outbox_messages_campaign", "campaign_id", "id"),
        sa.Index("ix_outbox_messages_application", "application_id", "id"),
        # The Outbox page: newest first within a state, and search by recipient.
        sa.Index("ix_outbox_messages_state_id", "state", "id"),
        sa.Index("ix_outbox_messages_recipient", "to_addr", "id"),
        # The purge unlinks the resends of the rows it deletes (and ON DELETE SET NULL looks
        # them up): without it, each purged row scans the table.
        sa.Index("ix_outbox_messages_resent_from", "resent_from_id"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    # (trigger, event, recipient): the same event can never produce a second email.
    dedupe_key: orm.Mapped[str] = orm.mapped_column(sa.String(255), unique=True)
    message_id: orm.Mapped[str] = orm.mapped_column(sa.String(255), unique=True)
    state: orm.Mapped[str] = orm.mapped_column(sa.String(12), default=OutboxState.PENDING)
    priority: orm.Mapped[int] = orm.mapped_column(
        sa.SmallInteger, default=OutboxPriority.NORMAL.value, server_default="1")

    # What a template renders is stored whole (Text): placeholders can make a subject or a
    # display name longer than any template, and a value the column cannot hold would fail
    # the event's transaction. The address itself is checked (254 at most) before it gets here.
    sender: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")  # "" = configured
    to_addr: orm.Mapped[str] = orm.mapped_column(sa.String(254))
    to_name: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    cc: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    bcc: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    reply_to: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    subject: orm.Mapped[str] = orm.mapped_column(sa.Text)
    body_html: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    body_text: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    headers: orm.Mapped[dict] = orm.mapped_column(sa.JSON, default=dict)
    locale: orm.Mapped[str] = orm.mapped_column(sa.String(8), default="fr")
    is_test: orm.Mapped[bool] = orm.mapped_column(default=False)

    event_type: orm.Mapped[str] = orm.mapped_column(sa.String(20), default="")
    event_id: orm.Mapped[int | None]
    campaign_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="SET NULL")
    )
    application_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("applications.id", ondelete="SET NULL")
    )
    trigger_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("triggers.id", ondelete="SET NULL"), index=True
    )
    template_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("email_templates.id", ondelete="SET NULL")
    )
    recipient_user_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    resent_from_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("outbox_messages.id", ondelete="SET NULL")
    )

    attempts: orm.Mapped[int] = orm.mapped_column(default=0)
    max_attempts: orm.Mapped[int] = orm.mapped_column(default=6)
    next_attempt_at: orm.Mapped[datetime] = orm.mapped_column(default=utcnow)
    last_error: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    cancel_reason: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    lease_owner: orm.Mapped[str | None] = orm.mapped_column(sa.String(100))
    lease_expires_at: orm.Mapped[datetime | None]
    sent_at: orm.Mapped[datetime | None]
    # After the relay: "" (nothing heard), bounced, complained, delayed; and why, in the
    # reporting server's words (for `suppressed` rows: why the address is suppressed).
    delivery: orm.Mapped[str] = orm.mapped_column(sa.String(12), default="", server_default="")
    delivery_detail: orm.Mapped[str] = orm.mapped_column(sa.Text, default="", server_default="")

    attempt_log: orm.Mapped[list["OutboxAttempt"]] = orm.relationship(
        back_populates="message",
        order_by="OutboxAttempt.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.state} to={self.to_addr}>"


class OutboxAttempt(Base):
    """One delivery attempt and the server's answer."""

    __tablename__ = "outbox_attempts"
    # The rate limit's window and the failure banner count recent attempts.
    __table_args__ = (sa.Index("ix_outbox_attempts_recent", "created_at", "outcome"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    message_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("outbox_messages.id", ondelete="CASCADE"), index=True
    )
    number: orm.Mapped[int]
    outcome: orm.Mapped[str] = orm.mapped_column(sa.String(12))  # sent, temporary, permanent
    smtp_code: orm.Mapped[int | None]
    smtp_text: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    worker: orm.Mapped[str] = orm.mapped_column(sa.String(100), default="")
    created_at: orm.Mapped[datetime] = orm.mapped_column(default=utcnow)

    message: orm.Mapped[OutboxMessage] = orm.relationship(back_populates="attempt_log")


class WorkerHeartbeat(Base):
    """One row per worker process, so the web app can tell whether a worker is alive."""

    __tablename__ = "worker_heartbeats"

    worker: orm.Mapped[str] = orm.mapped_column(sa.String(100), primary_key=True)
    started_at: orm.Mapped[datetime] = orm.mapped_column(default=utcnow)
    last_seen_at: orm.Mapped[datetime] = orm.mapped_column(default=utcnow)
    last_drain_at: orm.Mapped[datetime | None]  # when its last drain finished
    last_drain_error: orm.Mapped[str] = orm.mapped_column(sa.Text, default="", server_default="")
    paused_until: orm.Mapped[datetime | None]  # the relay was unreachable: no claim till then
    # The worker's last outage of the database, written as soon as it could write again.
    db_unreachable_since: orm.Mapped[datetime | None]
    db_unreachable_until: orm.Mapped[datetime | None]
    db_error: orm.Mapped[str] = orm.mapped_column(sa.Text, default="", server_default="")
    sent_total: orm.Mapped[int] = orm.mapped_column(default=0)
