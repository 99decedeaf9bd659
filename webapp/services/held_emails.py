"""Emails held for review: status emails written `held` by a trigger that holds its emails,
so that a decision reaches nobody by accident. A platform manager sees them per automatic
email and target status (two decisions sharing one template are two groups), each with a
sample and its list of recipients, then releases them (now or from a chosen moment) or
cancels them; both are audited.

Release and cancel act on the exact set of emails the manager saw, named by the group's
`version` (a fingerprint of its rows): if the group changed meanwhile (a later decision
cancelled one, a new one held another, even leaving the count equal), nothing is done and
the new list is shown, as the bulk status change does.
"""

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l

from webapp import outbox
from webapp.core import audit, clock
from webapp.core.errors import NotAllowed, ValidationFailed
from webapp.extensions import db
from webapp.models import (
    Campaign,
    EmailTemplate,
    Status,
    Trigger,
    User,
)
from webapp.services import permissions

log = logging.getLogger("missive.held")

CHUNK = 500
RECIPIENTS_SHOWN = 200  # a longer list ends with how many more there are


@dataclass(frozen=True)
class HeldRecipient:
    message_id: int
    to_addr: str
    to_name: str
    application_id: int | None
    reference: str


@dataclass(frozen=True)
class HeldGroup:
    """A campaign's held emails of one automatic email and target status."""

    campaign_id: int
    campaign_label: str
    trigger_id: int  # 0: the automatic email was deleted since
    status: Status | None  # the status the emails announce
    template_id: int
    template_name: str
    count: int
    recipients: int  # distinct addresses
    applications: int
    sample: object  # the group's first email (an outbox row)
    version: str  # fingerprint of the group's rows: what a release or cancel confirms
    listed: list[HeldRecipient] = field(default_factory=list)  # the first RECIPIENTS_SHOWN

    @property
    def status_id(self) -> int:
        return self.status.id if self.status else 0

    @property
    def key(self) -> str:
        return f"{self.campaign_id}-{self.trigger_id}-{self.status_id}"


def fingerprint(ids) -> str:
    """The version of a set of rows: equal if and only if (practically) the set is."""
    text = ",".join(str(i) for i in sorted(ids))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def groups(campaign_id: int | None = None) -> list[HeldGroup]:
    """Held emails per (campaign, automatic email, target status), oldest group first, each
    with its first email as a sample and its first RECIPIENTS_SHOWN recipients."""
    rows_by_group: dict[tuple, list] = {}
    for row in outbox.held_rows(campaign_id):
        rows_by_group.setdefault((row.campaign_id or 0, row.trigger_id or 0,
                                  row.to_status_id or 0), []).append(row)
    found = []
    for (campaign, trigger, status_id), rows in rows_by_group.items():
        label = db.session.get(Campaign, campaign).label if campaign else ""
        template_id = rows[0].template_id or 0
        trigger_row = db.session.get(Trigger, trigger) if trigger else None
        if trigger_row is not None:
            template_id = trigger_row.template_id
        template = db.session.get(EmailTemplate, template_id) if template_id else None
        found.append(HeldGroup(
            campaign_id=campaign, campaign_label=label, trigger_id=trigger,
            status=db.session.get(Status, status_id) if status_id else None,
            template_id=template_id, template_name=template.name if template else "",
            count=len(rows), recipients=len({r.to_addr for r in rows}),
            applications=len({r.application_id for r in rows if r.application_id}),
            sample=outbox.get(rows[0].id),
            version=fingerprint(r.id for r in rows),
            listed=[HeldRecipient(r.id, r.to_addr, r.to_name, r.application_id,
                                  r.reference or "") for r in rows[:RECIPIENTS_SHOWN]]))
    return found


def group(campaign: Campaign, trigger_id: int, status_id: int) -> HeldGroup | None:
    return next((g for g in groups(campaign.id)
                 if (g.trigger_id, g.status_id) == (trigger_id, status_id)), None)


def _ids(campaign: Campaign, trigger_id: int, status_id: int) -> list[int]:
    return [r.id for r in outbox.held_rows(campaign.id)
            if (r.trigger_id or 0, r.to_status_id or 0) == (trigger_id, status_id)]


def _check(actor: User) -> None:
    if not permissions.can_configure_emails(actor):
        raise NotAllowed()


def _changed(n: int) -> ValidationFailed:
    return ValidationFailed(str(_l(
        "The held emails changed meanwhile: there are now %(n)d. Check them and confirm "
        "again.", n=n)), field="version")


def _apply(campaign: Campaign, trigger_id: int, status_id: int, version: str,
           change) -> list[int]:
    """Change exactly the rows of the version the manager confirmed, or nothing: `change`
    (outbox.release_held or outbox.cancel_held, with its arguments bound) reports how many
    it changed."""
    ids = _ids(campaign, trigger_id, status_id)
    if not ids or fingerprint(ids) != version:
        raise _changed(len(ids))
    if change(ids) != len(ids):  # one left its group between the read and the update
        db.session.rollback()
        raise _changed(len(_ids(campaign, trigger_id, status_id)))
    return ids


def release(actor: User, campaign: Campaign, trigger_id: int, status_id: int, version: str,
            not_before: datetime | None = None) -> int:
    """Hand a held group to the worker: sent at once, or from `not_before` (naive UTC)."""
    _check(actor)
    now = clock.now()
    if not_before is not None and not_before <= now:
        raise ValidationFailed(str(_l("Choose a moment in the future, or release now.")),
                               field="not_before")
    due = not_before or now
    ids = _apply(campaign, trigger_id, status_id, version,
                 lambda ids: outbox.release_held(ids, due))
    name = _group_name(trigger_id, status_id)
    when = f" from {due:%Y-%m-%d %H:%M} UTC" if not_before else ""
    entry = audit.record(actor, "held.released", "held_emails", trigger_id or None,
                         f"Released {len(ids)} held emails of {name}{when}", campaign.id)
    entry.details = _details(len(ids), trigger_id, status_id, not_before)
    db.session.commit()
    log.info("%s held emails of trigger %s, status %s (campaign %s) released by %s%s: %s",
             len(ids), trigger_id, status_id, campaign.id, actor.email, when, ids)
    return len(ids)


def cancel(actor: User, campaign: Campaign, trigger_id: int, status_id: int,
           version: str) -> int:
    """Cancel a held group: none of its emails will be sent."""
    _check(actor)
    reason = f"Cancelled by {actor.email} while held for review"
    ids = _apply(campaign, trigger_id, status_id, version,
                 lambda ids: outbox.cancel_held(ids, reason))
    name = _group_name(trigger_id, status_id)
    entry = audit.record(actor, "held.cancelled", "held_emails", trigger_id or None,
                         f"Cancelled {len(ids)} held emails of {name}", campaign.id)
    entry.details = _details(len(ids), trigger_id, status_id, None)
    db.session.commit()
    log.info("%s held emails of trigger %s, status %s (campaign %s) cancelled by %s: %s",
             len(ids), trigger_id, status_id, campaign.id, actor.email, ids)
    return len(ids)


def _details(count: int, trigger_id: int, status_id: int, not_before: datetime | None) -> dict:
    """The audit entry's codes, read in each reader's language by `explain`."""
    trigger = db.session.get(Trigger, trigger_id) if trigger_id else None
    template = db.session.get(EmailTemplate, trigger.template_id) if trigger else None
    return {"count": count, "template": template.name if template else "",
            "status_id": status_id or None,
            "not_before": not_before.isoformat() if not_before else None}


def explain(entry, statuses_by_id: dict, locale: str) -> str | None:
    """A held group's audit entry in the reader's language; None for older entries."""
    from flask_babel import format_datetime, ngettext

    details = entry.details or {}
    if "count" not in details:
        return None
    parts = [ngettext("%(num)d email", "%(num)d emails", details["count"])]
    status = statuses_by_id.get(details.get("status_id"))
    if details.get("template"):
        parts.append(details["template"] + (f" → {status.label_for(locale)}" if status else ""))
    if details.get("not_before"):
        moment = datetime.fromisoformat(details["not_before"])
        parts.append(str(_l("from %(moment)s", moment=format_datetime(moment, "d MMM y, HH:mm"))))
    return " · ".join(parts)


def _group_name(trigger_id: int, status_id: int) -> str:
    """How the audit names a group: its template, and the status it announces."""
    trigger = db.session.get(Trigger, trigger_id) if trigger_id else None
    template = db.session.get(EmailTemplate, trigger.template_id) if trigger else None
    status = db.session.get(Status, status_id) if status_id else None
    name = template.name if template else f"automatic email #{trigger_id}"
    return f"{name} ({status.label_en})" if status else name
