"""Every model, imported so that create_all and Alembic see them all.

The outbox's rows (OutboxMessage, OutboxAttempt, WorkerHeartbeat) are not named here: they are
the outbox's business alone, imported from `webapp.models.outbox` by `webapp.outbox` (the
import contract `outbox-table`); importing that module registers their tables."""

from webapp.models.applications import Application, Status, StatusChange
from webapp.models.audit import AuditEntry
from webapp.models.base import Base
from webapp.models.branding import Branding
from webapp.models.campaigns import Campaign, CampaignMember, MemberRole
from webapp.models.delivery import (
    DeliveryPause,
    DeliveryReport,
    ReportKind,
    Suppression,
    SuppressionKind,
)
from webapp.models.documents import ApplicationDocument, DocumentKind, RequestedDocument
from webapp.models.emails import (
    EmailTemplate,
    EmailTemplateVersion,
    EventType,
    RecipientKind,
    SkippedRecipient,
    SkipReason,
    Trigger,
)
from webapp.models.letters import EmailTemplateAttachment, LetterTemplate, OutboxAttachment
from webapp.models.outbox import OutboxPriority, OutboxState
from webapp.models.reminders import OffsetUnit, Reminder, ReminderDelivery, ReminderKind
from webapp.models.users import Role, SignInThrottle, User, UserRole, UserSession

__all__ = [
    "DeliveryPause", "DeliveryReport", "ReportKind", "Suppression", "SuppressionKind",
    "ApplicationDocument", "DocumentKind", "EmailTemplateAttachment", "LetterTemplate",
    "OutboxAttachment", "RequestedDocument",
    "Application", "AuditEntry", "Base", "Branding", "Campaign", "CampaignMember", "EmailTemplate",
    "EmailTemplateVersion", "EventType", "MemberRole",
    "OffsetUnit", "OutboxPriority", "OutboxState", "RecipientKind", "Reminder",
    "ReminderDelivery", "ReminderKind",
    "Role", "SignInThrottle", "SkippedRecipient", "SkipReason", "Status", "StatusChange",
    "Trigger", "User", "UserRole", "UserSession",
]
