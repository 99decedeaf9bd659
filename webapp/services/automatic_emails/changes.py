"""The audit trail of a campaign's automatic emails, whatever their kind: one entry per change
(created, updated, activated, deactivated, deleted) with its summary in words and the email
before and after as codes, which the Emails tab's history renders in the reader's language."""

from webapp.core import audit
from webapp.models import Campaign, Reminder, Trigger, User


def record(actor: User, campaign: Campaign, email: Trigger | Reminder, action: str,
           summary: str, before: dict | None, after: dict) -> None:
    """Add the entry `<kind>.<action>` to the caller's transaction."""
    object_type = "reminder" if isinstance(email, Reminder) else "trigger"
    entry = audit.record(actor, f"{object_type}.{action}", object_type, email.id, summary,
                         campaign.id)
    entry.details = {"before": before, "after": after}
