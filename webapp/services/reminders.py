"""Scheduled reminders ("relances"): their configuration in the Emails tab, and their public
API (the cron job that turns what is due into outbox rows is `reminder_runs.run`, the timing
`reminder_planning`, the counts `reminder_outlook`).

When a reminder fires. Every run looks at the moments that fell between the reminder's
previous run (`last_run_at`) and now, so a run after downtime catches up, once:
- before the closing date: the moment is `closes_at - offset`; the applications still in draft
  (or in a chosen status) at that run get it, once per application. When the campaign has
  closed meanwhile, nothing is sent late: the reminder would announce a closed door.
- after time in a status: occurrence k falls `offset + (k-1) * repeat` after the application
  entered the status; an application that has left the status gets nothing. After downtime
  that spanned several occurrences, only the latest one is sent (one late email, not a burst).
A reminder created (or edited) after its moments has no previous run: its first run sends what
is due at once, which its "if it ran now" count shows beforehand.

Each email's dedupe key is (reminder, application, entry in the status, occurrence, recipient):
two workers running the job at once, a rerun or a restart insert it at most once.
"""

import logging
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from webapp import outbox
from webapp.core import clock
from webapp.core.errors import ValidationFailed
from webapp.extensions import db
from webapp.models import (
    Campaign,
    OffsetUnit,
    Reminder,
    ReminderKind,
    Status,
    User,
)
from webapp.services import labels, statuses
from webapp.services.automatic_emails import changes, configuration
from webapp.services.reminder_outlook import (  # noqa: F401  (the reminders' public API)
    count_if_ran_now,
    due_moments,
    outlook,
    outlooks,
)
from webapp.services.reminder_planning import (  # noqa: F401  (the reminders' public API)
    EVENT_TYPE,
    ReminderPlan,
    moment_before_closing,
    plan_reminder,
    reminders_of,
)
from webapp.services.reminder_runs import RunReport, run  # noqa: F401  (the public API)

log = logging.getLogger("missive.reminders")

# Why a queued reminder was withdrawn: stored in English, shown in the reader's language
# (services.labels.cancel_reason).
WITHDRAWN_SUBMITTED = "Withdrawn: the application was submitted."
WITHDRAWN_LEFT = "Withdrawn: the application left the status this reminder is about."
WITHDRAWN_OFF = "Withdrawn: the reminder was switched off."
WITHDRAWN_DELETED = "Withdrawn: the reminder was deleted."
MAX_OFFSET_DAYS = 366
MAX_TIMES = 20


# --- Configuration (the Emails tab) --------------------------------------------------------


@dataclass
class ReminderInput:
    """What the reminder form sends. Fields that do not apply to the kind are ignored."""

    kind: str
    template_id: int | None = None
    offset_amount: int | None = None
    offset_unit: str = OffsetUnit.DAYS.value
    status_id: int | None = None
    also_status_ids: list[int] = field(default_factory=list)
    repeat_every_days: int | None = None
    max_times: int | None = None
    to_candidate: bool = False
    to_managers: bool = False
    to_evaluators: bool = False
    extra_addresses: str = ""
    active: bool = True
    transactional: bool = False  # True: no unsubscribe, sent even to who unsubscribed


RECIPIENT_FLAGS = ("to_candidate", "to_managers", "to_evaluators")


def get_reminder(campaign: Campaign, reminder_id: int) -> Reminder:
    """The campaign's reminder: NotFound if there is none (another campaign's is none)."""
    return configuration.get(Reminder, campaign, reminder_id)


def describe(reminder: Reminder, locale: str) -> str:
    """A one-line summary for the audit trail: template, when, to whom."""
    when = f"{reminder.offset_amount} {reminder.offset_unit}"
    if reminder.kind == ReminderKind.BEFORE_CLOSING:
        parts = [reminder.template.name, f"{when} before closing"]
    else:
        parts = [reminder.template.name,
                 f"{when} in {reminder.status.label_for(locale) if reminder.status else '?'}"]
        if reminder.repeat_every_days:
            parts.append(f"every {reminder.repeat_every_days} days ×{reminder.max_times}")
    parts.append(configuration.recipients_summary(reminder))
    if reminder.transactional:
        parts.append("transactional")
    if not reminder.active:
        parts.append("(off)")
    return " ".join(parts)


def snapshot(reminder: Reminder) -> dict:
    """A reminder as ids and codes, for the audit trail (rendered later in the reader's
    language by `explain`)."""
    return configuration.snapshot(
        reminder, kind=reminder.kind, offset_amount=reminder.offset_amount,
        offset_unit=reminder.offset_unit, status_id=reminder.status_id,
        also_status_ids=list(reminder.also_status_ids or []),
        repeat_every_days=reminder.repeat_every_days, max_times=reminder.max_times)


KIND = changes.Kind("Reminder", describe, snapshot, log)


def explain(entry, statuses_by_id: dict[int, Status], locale: str) -> str | None:
    """A reminder's audit entry in the reader's language, from its stored codes; None for
    entries written before they were stored."""
    after = (entry.details or {}).get("after")
    if not after:
        return None
    amount = after.get("offset_amount") or 0
    if after.get("kind") == ReminderKind.BEFORE_CLOSING:
        when = (_l("%(n)d hours before the closing date", n=amount)
                if after.get("offset_unit") == OffsetUnit.HOURS
                else _l("%(n)d days before the closing date", n=amount))
        parts = [str(when)]
    else:
        status = statuses_by_id.get(after.get("status_id"))
        parts = [str(_l("%(n)d days in the status %(status)s", n=amount,
                        status=status.label_for(locale) if status else "?"))]
        if after.get("repeat_every_days"):
            parts.append(str(_l("then every %(every)d days, at most %(times)d times",
                                every=after["repeat_every_days"], times=after["max_times"])))
    recipients = [labels.label(labels.RECIPIENT_KINDS, code)
                  for code in after.get("recipients", [])]
    if after.get("addresses"):
        recipients.append(after["addresses"])
    text = f"{after.get('template', '')} · {', '.join(parts)} ({', '.join(recipients) or '—'})"
    if after.get("transactional"):
        text += f" · {_l('Transactional')}"
    if not after.get("active"):
        text += f" · {_l('Off')}"
    return text


def _validate(data: ReminderInput) -> dict:
    """A reminder's cleaned values (the timing fields of its kind only); ValidationFailed
    with the errors by form field."""
    errors: dict[str, list[str]] = {}
    values: dict = {}
    if data.kind not in {k.value for k in ReminderKind}:
        raise ValidationFailed({"kind": [str(_l("Unknown kind of reminder."))]})
    values["kind"] = data.kind
    errors.update(configuration.template_errors(data.template_id))
    values["template_id"] = data.template_id
    unit = data.offset_unit if data.offset_unit in {u.value for u in OffsetUnit} else None
    if data.kind == ReminderKind.IN_STATUS:
        unit = OffsetUnit.DAYS.value  # "N days after": a stay is counted in days
    if unit is None:
        errors["offset_unit"] = [str(_l("Choose days or hours."))]
    values["offset_unit"] = unit
    limit = MAX_OFFSET_DAYS * (24 if unit == OffsetUnit.HOURS else 1)
    if not data.offset_amount or not 1 <= data.offset_amount <= limit:
        errors["offset_amount"] = [str(_l("Enter a number between 1 and %(max)d.", max=limit))]
    values["offset_amount"] = data.offset_amount
    known = {s.id for s in statuses.all_statuses()}
    if data.kind == ReminderKind.IN_STATUS:
        if data.status_id not in known:
            errors["status_id"] = [str(_l("Choose the status."))]
        values["status_id"] = data.status_id
        values["also_status_ids"] = []
        every = data.repeat_every_days
        if every:
            if not 1 <= every <= MAX_OFFSET_DAYS:
                errors["repeat_every_days"] = [str(_l("Enter a number between 1 and %(max)d.",
                                                      max=MAX_OFFSET_DAYS))]
            if not data.max_times or not 2 <= data.max_times <= MAX_TIMES:
                errors["max_times"] = [str(_l("Enter a number between 2 and %(max)d.",
                                              max=MAX_TIMES))]
        values["repeat_every_days"] = every or None
        values["max_times"] = data.max_times if every and data.max_times else 1
    else:
        draft = statuses.by_code(Status.DRAFT).id
        also = sorted({int(i) for i in data.also_status_ids or []} - {draft})
        if any(i not in known for i in also):
            errors["also_status_ids"] = [str(_l("Unknown status."))]
        values.update(status_id=None, also_status_ids=also, repeat_every_days=None,
                      max_times=1)
    return configuration.validated(data, RECIPIENT_FLAGS, errors, values)


def save_reminder(actor: User, campaign: Campaign, reminder: Reminder | None,
                  data: ReminderInput, locale: str = "en") -> Reminder:
    """Create (reminder=None) or edit one of the campaign's reminders."""
    values = _validate(data)
    created = reminder is None
    if not created and reminder.kind != values["kind"]:
        raise ValidationFailed({"kind": [str(_l("The kind of a reminder cannot change."))]})
    before = KIND.before(reminder, locale)
    if created:
        reminder = Reminder(campaign_id=campaign.id)
        db.session.add(reminder)
    timing = ("offset_amount", "offset_unit", "status_id", "also_status_ids",
              "repeat_every_days", "max_times")
    had_run = not created and reminder.last_run_at is not None
    if not created and any(getattr(reminder, name) != values[name] for name in timing):
        # New moments: the next run looks at every one of them. Nobody is reminded twice for
        # the same occurrence (its deliveries say who was), even after the outbox purge.
        reminder.last_run_at = None
    switched_on = not created and values["active"] and not reminder.active
    for name, value in values.items():
        setattr(reminder, name, value)
    if switched_on and had_run:
        _start_from_now(reminder)
    elif not created and not values["active"]:
        _withdraw_queued(reminder, WITHDRAWN_OFF)
    reminder.updated_at = clock.now()
    changes.saved(actor, campaign, reminder, KIND, locale, before)
    return reminder


def set_active(actor: User, campaign: Campaign, reminder: Reminder, active: bool,
               locale: str = "en") -> Reminder:
    """Switch a reminder on or off. Switched back on, it does not send what fell due while it
    was off: its next run starts from now."""
    if reminder.active == active:
        return reminder
    reminder.active = active
    if active and reminder.last_run_at is not None:
        _start_from_now(reminder)
    else:
        _withdraw_queued(reminder, WITHDRAWN_OFF)
    changes.switched(actor, campaign, reminder, KIND, locale, None)
    return reminder


def delete_reminder(actor: User, campaign: Campaign, reminder: Reminder,
                    locale: str = "en") -> None:
    """Delete a reminder. Its emails still waiting to be sent are withdrawn; those sent stay
    in the outbox."""
    _withdraw_queued(reminder, WITHDRAWN_DELETED)
    changes.deleted(actor, campaign, reminder, KIND, locale)


def _start_from_now(reminder: Reminder) -> None:
    """Switched back on (the switch or the edit form), a reminder that has run before does not
    send what fell due while it was off: its next run starts from now, at the current closing
    date. One that never ran sends what is due, as its count shows beforehand."""
    reminder.last_run_at = clock.now()
    reminder.last_closes_at = reminder.campaign.closes_at


def _withdraw_queued(reminder: Reminder, reason: str) -> int:
    return outbox.withdraw(outbox.waiting_applications(EVENT_TYPE, reminder.id), reason,
                           EVENT_TYPE, [reminder.id])


def copy_reminders(source: Campaign, target: Campaign) -> list[Reminder]:
    """Give `target` a copy of each of `source`'s reminders (flushes; the caller commits)."""
    columns = ("kind", "template_id", "offset_amount", "offset_unit", "status_id",
               "also_status_ids", "repeat_every_days", "max_times", "extra_addresses",
               "active", "transactional", *RECIPIENT_FLAGS)
    copies = [Reminder(campaign_id=target.id, **{c: getattr(r, c) for c in columns})
              for r in reminders_of(source)]
    db.session.add_all(copies)
    db.session.flush()
    return copies


# --- Withdrawn when their reason goes ---------------------------------------------------------


def withdraw_obsolete(campaign_id: int, application_ids: list[int], new_status_id: int,
                      reason: str = WITHDRAWN_LEFT) -> int:
    """The applications moved to `new_status_id`: their queued reminders that no longer
    apply are withdrawn with `reason` (in the caller's transaction). A reminder after time in
    a status counted a stay that has ended; one before the closing date is for drafts (and
    its chosen statuses) only."""
    if not application_ids:
        return 0
    draft = statuses.by_code(Status.DRAFT).id
    obsolete = [r.id for r in db.session.scalars(
        sa.select(Reminder).where(Reminder.campaign_id == campaign_id))
        if r.kind == ReminderKind.IN_STATUS
        or new_status_id not in (draft, *r.also_status_ids)]
    if not obsolete:
        return 0
    return outbox.withdraw(application_ids, reason, EVENT_TYPE, obsolete)
