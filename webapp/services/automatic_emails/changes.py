"""The audit trail of a campaign's automatic emails, whatever their kind: one entry per change
(created, updated, activated, deactivated, deleted) with its summary in words and the email
before and after as codes, which the Emails tab's history renders in the reader's language.

Each kind's configuration service (`campaign_triggers`, `reminders`) changes its email, then
ends the unit of work here: `saved`, `switched` or `deleted` records the entry, commits and
logs, the same way for every kind (`Kind` says how the kind is described and logged)."""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from webapp.core import audit
from webapp.extensions import db
from webapp.models import Campaign, Reminder, Trigger, User


@dataclass(frozen=True)
class Kind:
    """How one kind of automatic email stands in the audit trail and the log."""

    name: str  # the log's word for it: "Trigger", "Reminder"
    describe: Callable[[Trigger | Reminder, str], str]  # the one-line summary, in a locale
    snapshot: Callable[[Trigger | Reminder], dict]  # the email as ids and codes
    log: logging.Logger

    def before(self, email: Trigger | Reminder | None, locale: str) -> tuple[str, dict] | None:
        """What `saved` keeps of an email before its edit (its summary and snapshot); None
        for one being created."""
        return None if email is None else (self.describe(email, locale), self.snapshot(email))


def record(actor: User, campaign: Campaign, email: Trigger | Reminder, action: str,
           summary: str, before: dict | None, after: dict) -> None:
    """Add the entry `<kind>.<action>` to the caller's transaction."""
    object_type = "reminder" if isinstance(email, Reminder) else "trigger"
    entry = audit.record(actor, f"{object_type}.{action}", object_type, email.id, summary,
                         campaign.id)
    entry.details = {"before": before, "after": after}


def saved(actor: User, campaign: Campaign, email: Trigger | Reminder, kind: Kind, locale: str,
          before: tuple[str, dict] | None) -> None:
    """End a save: audit it as created (`before` None) or updated (`before`: the email's
    summary and snapshot before the edit), commit and log."""
    db.session.flush()
    db.session.refresh(email)
    after = kind.describe(email, locale)
    if before is None:
        record(actor, campaign, email, "created", after, None, kind.snapshot(email))
    else:
        record(actor, campaign, email, "updated", f"{before[0]} ⇒ {after}", before[1],
               kind.snapshot(email))
    db.session.commit()
    kind.log.info("%s %s saved by %s", kind.name, email.id, actor.email)


def switched(actor: User, campaign: Campaign, email: Trigger | Reminder, kind: Kind,
             locale: str, before: dict | None) -> None:
    """End a switch on or off (`email.active` already set): audit it, commit and log."""
    action = "activated" if email.active else "deactivated"
    record(actor, campaign, email, action, kind.describe(email, locale), before,
           kind.snapshot(email))
    db.session.commit()
    kind.log.info("%s %s %s by %s", kind.name, email.id, action, actor.email)


def deleted(actor: User, campaign: Campaign, email: Trigger | Reminder, kind: Kind,
            locale: str) -> None:
    """Delete the email, audited with what it was, commit and log."""
    record(actor, campaign, email, "deleted", kind.describe(email, locale), None,
           kind.snapshot(email))
    db.session.delete(email)
    db.session.commit()
    kind.log.info("%s %s deleted by %s", kind.name, email.id, actor.email)
