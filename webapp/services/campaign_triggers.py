"""The configuration of a campaign's automatic emails (its Emails tab): save, check for
duplicates, switch on and off, delete, copy; every change is audited."""

import logging
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from webapp import outbox
from webapp.core import audit
from webapp.core.addresses import parse_address_list
from webapp.core.errors import ValidationFailed
from webapp.extensions import db
from webapp.models import (
    Campaign,
    EventType,
    MemberRole,
    Status,
    Trigger,
    User,
)
from webapp.services import labels
from webapp.services.automatic_emails import changes, configuration
from webapp.services.automatic_emails.audience import RECIPIENT_FLAGS

log = logging.getLogger("missive.triggers")


@dataclass
class TriggerInput:
    """What the trigger form sends. Status ids are ignored for candidate actions."""

    event: str
    template_id: int | None = None
    to_status_id: int | None = None
    from_status_id: int | None = None
    to_candidate: bool = False
    to_actor: bool = False
    to_managers: bool = False
    to_evaluators: bool = False
    extra_addresses: str = ""
    active: bool = True
    delay_minutes: int = 0  # status changes only
    hold_for_review: bool = False  # status changes only
    transactional: bool = True  # False: one-click unsubscribe, respected


MAX_DELAY_MINUTES = 30 * 24 * 60


def triggers_of(campaign: Campaign) -> dict[str, list[Trigger]]:
    """The campaign's triggers by event, in creation order."""
    grouped: dict[str, list[Trigger]] = {event.value: [] for event in EventType}
    query = sa.select(Trigger).where(Trigger.campaign_id == campaign.id).order_by(Trigger.id)
    for trigger in db.session.scalars(query):
        grouped[trigger.event].append(trigger)
    return grouped


def get_trigger(campaign: Campaign, trigger_id: int) -> Trigger:
    """The campaign's trigger: NotFound if there is none (another campaign's is none)."""
    return configuration.get(Trigger, campaign, trigger_id)


def input_from(trigger: Trigger) -> TriggerInput:
    return TriggerInput(
        event=trigger.event, template_id=trigger.template_id,
        to_status_id=trigger.to_status_id, from_status_id=trigger.from_status_id,
        extra_addresses=trigger.extra_addresses, active=trigger.active,
        delay_minutes=trigger.delay_minutes, hold_for_review=trigger.hold_for_review,
        transactional=trigger.transactional,
        **{flag: getattr(trigger, flag) for flag in RECIPIENT_FLAGS},
    )


def describe(trigger: Trigger, locale: str) -> str:
    """A one-line summary for the audit trail: template, when, to whom."""
    parts = [trigger.template.name]
    if trigger.event == EventType.STATUS_CHANGED and trigger.to_status is not None:
        parts.append(f"→ {trigger.to_status.label_for(locale)}")
        if trigger.from_status is not None:
            parts.append(f"({trigger.from_status.label_for(locale)} →)")
    parts.append(configuration.recipients_summary(trigger))
    if trigger.delay_minutes:
        parts.append(f"after {trigger.delay_minutes} min")
    if trigger.hold_for_review:
        parts.append("held for review")
    if not trigger.transactional:
        parts.append("not transactional")
    if not trigger.active:
        parts.append("(off)")
    return " ".join(parts)


def members_today(campaign: Campaign) -> dict[str, int]:
    """How many active members of each role the campaign has now (by MemberRole value)."""
    counts = {role.value: 0 for role in MemberRole}
    for member in campaign.members:
        if member.user.active:
            counts[member.role] += 1
    return counts


def nobody_warnings(campaign: Campaign, trigger: Trigger | TriggerInput,
                    members: dict[str, int] | None = None) -> list[str]:
    """The recipient choices of a trigger that reach nobody today, as messages."""
    members = members if members is not None else members_today(campaign)
    warnings = []
    if trigger.to_managers and not members[MemberRole.MANAGER]:
        warnings.append(str(_l("The campaign has no active manager today: “The campaign's "
                               "managers” receive nothing.")))
    if trigger.to_evaluators and not members[MemberRole.EVALUATOR]:
        warnings.append(str(_l("The campaign has no active evaluator today: “The campaign's "
                               "evaluators” receive nothing.")))
    return warnings


def snapshot(trigger: Trigger) -> dict:
    """A trigger as ids and codes, for the audit trail (rendered later in the reader's
    language by `explain`)."""
    return configuration.snapshot(trigger, event=trigger.event,
                                  to_status_id=trigger.to_status_id,
                                  from_status_id=trigger.from_status_id)


KIND = changes.Kind("Trigger", describe, snapshot, log)


@dataclass
class ExplainedEntry:
    """An audit entry of a trigger in the reader's language: what it is, and for an edit
    each changed field as (field, before, after)."""

    text: str
    changes: list[tuple[str, str, str]]


def explain(entry, statuses_by_id: dict[int, Status], locale: str) -> ExplainedEntry | None:
    """Render a trigger's or a reminder's audit entry from its stored codes; None for entries
    without them."""
    if entry.object_type == "reminder":
        from webapp.services import reminders

        text = reminders.explain(entry, statuses_by_id, locale)
        return ExplainedEntry(text, []) if text else None
    if entry.object_type == "held_emails":
        from webapp.services import held_emails

        text = held_emails.explain(entry, statuses_by_id, locale)
        return ExplainedEntry(text, []) if text else None
    details = entry.details or {}
    after = details.get("after")
    if not after:
        return None

    def value(snap: dict, key: str) -> str:
        item = snap.get(key)
        if key in ("to_status_id", "from_status_id"):
            status = statuses_by_id.get(item) if item else None
            return status.label_for(locale) if status else ("—" if not item else f"#{item}")
        if key == "recipients":
            return ", ".join(labels.label(labels.RECIPIENT_KINDS, code) for code in item) or "—"
        if key in ("active", "transactional"):
            return labels.label(labels.YES_NO, bool(item))
        return str(item) if item else "—"

    parts = [after["template"]]
    if after.get("to_status_id"):
        parts.append(f"→ {value(after, 'to_status_id')}")
    parts.append(f"({value(after, 'recipients')}"
                 + (f", {after['addresses']}" if after.get("addresses") else "") + ")")
    before = details.get("before")
    # A template renamed meanwhile is the same template: compare by id.
    compared = {"template": "template_id"}
    changes = [(str(labels.TRIGGER_FIELDS[key]), value(before, key), value(after, key))
               for key in labels.TRIGGER_FIELDS
               if before and compared.get(key, key) in before  # older entries lack some
               and before.get(compared.get(key, key)) != after.get(compared.get(key, key))]
    return ExplainedEntry(" ".join(parts), changes)


@dataclass(frozen=True)
class SendingStats:
    sent: int
    last_sent_at: datetime | None


def sending_stats(campaign: Campaign) -> dict[int, SendingStats]:
    """How many emails each of the campaign's triggers has sent, and when last (one query)."""
    return {trigger_id: SendingStats(count, last)
            for trigger_id, (count, last) in outbox.sent_per_trigger(campaign.id).items()}


def _recipient_key(trigger: Trigger | TriggerInput) -> tuple:
    return (*(bool(getattr(trigger, flag)) for flag in RECIPIENT_FLAGS),
            frozenset(parse_address_list(trigger.extra_addresses or "")))


def find_duplicate(campaign: Campaign, candidate: TriggerInput,
                   exclude_id: int | None = None) -> Trigger | None:
    """Another active trigger of the campaign that would send the same email to the same
    people on the same event."""
    query = sa.select(Trigger).where(
        Trigger.campaign_id == campaign.id, Trigger.active.is_(True),
        Trigger.event == candidate.event, Trigger.template_id == candidate.template_id,
    )
    if exclude_id is not None:
        query = query.where(Trigger.id != exclude_id)
    for other in db.session.scalars(query):
        if (other.to_status_id == candidate.to_status_id
                and other.from_status_id == candidate.from_status_id
                and _recipient_key(other) == _recipient_key(candidate)):
            return other
    return None


def _validate(data: TriggerInput) -> dict:
    """A trigger's cleaned values (its statuses and delay only on a status change);
    ValidationFailed with the errors by form field."""
    errors: dict[str, list[str]] = {}
    values: dict = {}
    if data.event not in {e.value for e in EventType}:
        raise ValidationFailed({"event": [str(_l("Unknown event."))]})
    errors.update(configuration.template_errors(data.template_id))
    values["template_id"] = data.template_id
    if data.event == EventType.STATUS_CHANGED:
        to_status = db.session.get(Status, data.to_status_id) if data.to_status_id else None
        from_status = (db.session.get(Status, data.from_status_id)
                       if data.from_status_id else None)
        if to_status is None:
            errors["to_status_id"] = [str(_l("Choose the status that sends this email."))]
        if data.from_status_id and from_status is None:
            errors["from_status_id"] = [str(_l("Unknown status."))]
        if to_status is not None and from_status is not None and to_status.id == from_status.id:
            errors["from_status_id"] = [str(_l("The previous status must differ from the new "
                                               "one."))]
        values["to_status_id"] = to_status.id if to_status else None
        values["from_status_id"] = from_status.id if from_status else None
        delay = data.delay_minutes or 0
        if not 0 <= delay <= MAX_DELAY_MINUTES:
            errors["delay_hours"] = [str(_l("Enter a delay between 0 and %(max)d hours.",
                                            max=MAX_DELAY_MINUTES // 60))]
        elif delay and data.hold_for_review:
            errors["delay_hours"] = [str(_l("Held emails wait for a manager's release: "
                                            "choose a delay or holding, not both."))]
        values["delay_minutes"] = delay
        values["hold_for_review"] = bool(data.hold_for_review)
    else:
        values["to_status_id"] = values["from_status_id"] = None
        values["delay_minutes"], values["hold_for_review"] = 0, False
    # On a submission the person who acts is the candidate: no "person who made the change".
    flags = (RECIPIENT_FLAGS if data.event == EventType.STATUS_CHANGED
             else tuple(f for f in RECIPIENT_FLAGS if f != "to_actor"))
    values = configuration.validated(data, flags, errors, values)
    values.setdefault("to_actor", False)
    return values


def _refuse_duplicate(campaign: Campaign, candidate: TriggerInput,
                      exclude_id: int | None) -> None:
    if not candidate.active:
        return
    duplicate = find_duplicate(campaign, candidate, exclude_id)
    if duplicate is not None:
        raise ValidationFailed(str(_l(
            "An identical automatic email already exists and is active: #%(id)s (%(template)s).",
            id=duplicate.id, template=duplicate.template.name)))


def save_trigger(actor: User, campaign: Campaign, trigger: Trigger | None,
                 data: TriggerInput, locale: str = "en") -> Trigger:
    """Create (trigger=None) or edit one of the campaign's triggers."""
    values = _validate(data)
    created = trigger is None
    if not created and trigger.event != data.event:
        raise ValidationFailed({"event": [str(_l("The event of an automatic email cannot "
                                                 "change."))]})
    _refuse_duplicate(campaign, TriggerInput(event=data.event, **values),
                      None if created else trigger.id)
    before = KIND.before(trigger, locale)
    if created:
        trigger = Trigger(campaign_id=campaign.id, event=data.event)
        db.session.add(trigger)
    for name, value in values.items():
        setattr(trigger, name, value)
    changes.saved(actor, campaign, trigger, KIND, locale, before)
    return trigger


def set_active(actor: User, campaign: Campaign, trigger: Trigger, active: bool,
               locale: str = "en") -> Trigger:
    """Switch an automatic email on or off. Switching on refuses a duplicate."""
    if trigger.active == active:
        return trigger
    if active:
        wanted = input_from(trigger)
        wanted.active = True
        _refuse_duplicate(campaign, wanted, trigger.id)
    before = snapshot(trigger)
    trigger.active = active
    changes.switched(actor, campaign, trigger, KIND, locale, before)
    return trigger


def delete_trigger(actor: User, campaign: Campaign, trigger: Trigger, locale: str = "en") -> None:
    """Delete an automatic email. Messages it already queued keep their content."""
    changes.deleted(actor, campaign, trigger, KIND, locale)


def copy_triggers(source: Campaign, target: Campaign) -> list[Trigger]:
    """Give `target` a copy of each of `source`'s triggers (flushes; the caller commits)."""
    copies = []
    for triggers in triggers_of(source).values():
        for trigger in triggers:
            copy = Trigger(campaign_id=target.id, event=trigger.event,
                           to_status_id=trigger.to_status_id,
                           from_status_id=trigger.from_status_id,
                           template_id=trigger.template_id,
                           extra_addresses=trigger.extra_addresses, active=trigger.active,
                           is_default_acknowledgement=trigger.is_default_acknowledgement,
                           delay_minutes=trigger.delay_minutes,
                           hold_for_review=trigger.hold_for_review,
                           transactional=trigger.transactional,
                           **{flag: getattr(trigger, flag) for flag in RECIPIENT_FLAGS})
            db.session.add(copy)
            copies.append(copy)
    db.session.flush()
    return copies


def campaign_history(campaign: Campaign, limit: int = 20):
    """Changes to the campaign's automatic emails and reminders, and held emails released or
    cancelled."""
    return audit.history(object_type=("trigger", "reminder", "held_emails"),
                         campaign_id=campaign.id, limit=limit)
