import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm

from webapp.models.applications import Status
from webapp.models.base import Base, TimestampMixin, enum_check, utcnow
from webapp.models.campaigns import Campaign


class EventType(enum.StrEnum):
    SUBMITTED = "submitted"  # candidate action
    STATUS_CHANGED = "status_changed"  # manager / evaluator action


class EmailTemplate(TimestampMixin, Base):
    """A reusable email; its subject and bodies live in one version per language."""

    __tablename__ = "email_templates"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    name: orm.Mapped[str] = orm.mapped_column(sa.String(200), unique=True)
    default_locale: orm.Mapped[str] = orm.mapped_column(sa.String(8), default="fr")
    sender_name: orm.Mapped[str] = orm.mapped_column(sa.String(200), default="")
    reply_to: orm.Mapped[str] = orm.mapped_column(sa.String(254), default="")
    cc: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")  # comma-separated addresses
    bcc: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    # Set on the platform's own emails (confirm an address, reset a password, invitation):
    # editable, never deletable, never offered to a campaign's triggers.
    system_key: orm.Mapped[str | None] = orm.mapped_column(sa.String(40), unique=True)

    versions: orm.Mapped[list["EmailTemplateVersion"]] = orm.relationship(
        back_populates="template", cascade="all, delete-orphan", lazy="selectin"
    )

    def version_for(self, locale: str | None) -> "EmailTemplateVersion":
        """The version in `locale`, else the default language's, else any."""
        by_locale = {v.locale: v for v in self.versions}
        return (
            by_locale.get(locale or "")
            or by_locale.get(self.default_locale)
            or next(iter(by_locale.values()))
        )

    def __repr__(self) -> str:
        return f"<EmailTemplate {self.id} {self.name!r}>"


class EmailTemplateVersion(Base):
    __tablename__ = "email_template_versions"
    __table_args__ = (sa.UniqueConstraint("template_id", "locale"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    template_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("email_templates.id", ondelete="CASCADE")
    )
    locale: orm.Mapped[str] = orm.mapped_column(sa.String(8))
    subject: orm.Mapped[str] = orm.mapped_column(sa.String(300))
    body_html: orm.Mapped[str] = orm.mapped_column(sa.Text)
    body_text: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")  # empty: derived

    template: orm.Mapped[EmailTemplate] = orm.relationship(back_populates="versions")


class Trigger(TimestampMixin, Base):
    """A campaign's automatic email: on an event, send a template to some recipients."""

    __tablename__ = "triggers"
    __table_args__ = (
        enum_check("event", EventType),
        sa.CheckConstraint(
            "event = 'submitted' OR to_status_id IS NOT NULL", name="status_change_has_target"
        ),
        sa.Index("ix_triggers_campaign_event", "campaign_id", "event"),
        sa.CheckConstraint("delay_minutes >= 0", name="delay_not_negative"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    campaign_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE")
    )
    event: orm.Mapped[str] = orm.mapped_column(sa.String(20))
    to_status_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("statuses.id"))
    from_status_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("statuses.id"))
    # RESTRICT: a template still used by a trigger cannot be deleted, even bypassing the app.
    template_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("email_templates.id", ondelete="RESTRICT"), index=True
    )
    to_candidate: orm.Mapped[bool] = orm.mapped_column(default=True)
    to_actor: orm.Mapped[bool] = orm.mapped_column(default=False)
    to_managers: orm.Mapped[bool] = orm.mapped_column(default=False)
    to_evaluators: orm.Mapped[bool] = orm.mapped_column(default=False)
    extra_addresses: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")  # comma-separated
    active: orm.Mapped[bool] = orm.mapped_column(default=True)
    is_default_acknowledgement: orm.Mapped[bool] = orm.mapped_column(default=False)
    # Status emails only: wait this long before sending (a later change cancels them), or
    # write them held until a manager releases them.
    delay_minutes: orm.Mapped[int] = orm.mapped_column(default=0)
    hold_for_review: orm.Mapped[bool] = orm.mapped_column(default=False)
    # Transactional (acknowledgements, decisions): no unsubscribe link, sent even to someone
    # who unsubscribed. Otherwise the emails carry one-click unsubscribe and respect it.
    transactional: orm.Mapped[bool] = orm.mapped_column(default=True, server_default=sa.true())

    campaign: orm.Mapped[Campaign] = orm.relationship()
    template: orm.Mapped[EmailTemplate] = orm.relationship()
    to_status: orm.Mapped[Status | None] = orm.relationship(foreign_keys=[to_status_id])
    from_status: orm.Mapped[Status | None] = orm.relationship(foreign_keys=[from_status_id])

    def __repr__(self) -> str:
        return f"<Trigger {self.id} {self.event} campaign={self.campaign_id}>"


class RecipientKind(enum.StrEnum):
    """Who a trigger sends to, as chosen on its form."""

    CANDIDATE = "candidate"
    ACTOR = "actor"
    MANAGERS = "managers"
    EVALUATORS = "evaluators"
    ADDRESS = "address"  # a fixed address


class SkipReason(enum.StrEnum):
    NOBODY = "nobody"  # the choice resolved to nobody (a campaign without managers)
    INACTIVE = "inactive"  # the account is deactivated
    NO_ACCESS = "no_access"  # the account may not see the application


class SkippedRecipient(Base):
    """A recipient a trigger chose but did not email, and why: nothing is dropped silently."""

    __tablename__ = "skipped_recipients"
    __table_args__ = (
        enum_check("kind", RecipientKind),
        enum_check("reason", SkipReason),
        sa.Index("ix_skipped_recipients_application", "application_id", "id"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    application_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("applications.id", ondelete="CASCADE"))
    trigger_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("triggers.id", ondelete="SET NULL"), index=True)
    template_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("email_templates.id", ondelete="SET NULL"))
    event_type: orm.Mapped[str] = orm.mapped_column(sa.String(20))
    event_id: orm.Mapped[int]
    kind: orm.Mapped[str] = orm.mapped_column(sa.String(20))
    user_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"))
    email: orm.Mapped[str] = orm.mapped_column(sa.String(254), default="")
    reason: orm.Mapped[str] = orm.mapped_column(sa.String(20))
    created_at: orm.Mapped[datetime] = orm.mapped_column(default=utcnow)

    template: orm.Mapped[EmailTemplate | None] = orm.relationship()
