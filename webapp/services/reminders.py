"""Scheduled reminders ("relances"): their configuration in the Emails tab, and the cron job
that turns what is due into outbox rows.

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
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from apscheduler.triggers.cron import CronTrigger
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import orm
from sqlalchemy.dialects import postgresql, sqlite

from webapp import outbox
from webapp.core import audit, clock
from webapp.core.addresses import InvalidAddress, parse_address_list
from webapp.core.errors import ValidationFailed
from webapp.extensions import db
from webapp.models import (
    Application,
    Campaign,
    EmailTemplate,
    EventType,
    OffsetUnit,
    OutboxMessage,
    OutboxPriority,
    OutboxState,
    Reminder,
    ReminderDelivery,
    ReminderKind,
    SkippedRecipient,
    Status,
    User,
)
from webapp.services import labels, statuses, triggers

log = logging.getLogger("missive.reminders")

EVENT_TYPE = "reminder"
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


RECIPIENT_FLAGS = ("to_candidate", "to_managers", "to_evaluators")


def reminders_of(campaign: Campaign) -> list[Reminder]:
    return list(db.session.scalars(
        sa.select(Reminder).where(Reminder.campaign_id == campaign.id)
        .options(orm.joinedload(Reminder.template), orm.joinedload(Reminder.status))
        .order_by(Reminder.id)))


def get_reminder(campaign: Campaign, reminder_id: int) -> Reminder | None:
    reminder = db.session.get(Reminder, reminder_id)
    return reminder if reminder is not None and reminder.campaign_id == campaign.id else None


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
    recipients = [flag.removeprefix("to_") for flag in RECIPIENT_FLAGS if getattr(reminder, flag)]
    if reminder.extra_addresses:
        recipients.append(reminder.extra_addresses)
    parts.append("[" + ", ".join(recipients) + "]")
    if not reminder.active:
        parts.append("(off)")
    return " ".join(parts)


def snapshot(reminder: Reminder) -> dict:
    """A reminder as ids and codes, for the audit trail (rendered later in the reader's
    language by `explain`)."""
    return {
        "template_id": reminder.template_id, "template": reminder.template.name,
        "kind": reminder.kind, "offset_amount": reminder.offset_amount,
        "offset_unit": reminder.offset_unit, "status_id": reminder.status_id,
        "also_status_ids": list(reminder.also_status_ids or []),
        "repeat_every_days": reminder.repeat_every_days, "max_times": reminder.max_times,
        "recipients": [flag.removeprefix("to_") for flag in RECIPIENT_FLAGS
                       if getattr(reminder, flag)],
        "addresses": reminder.extra_addresses or "", "active": bool(reminder.active),
    }


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
    if not after.get("active"):
        text += f" · {_l('Off')}"
    return text


def _validate(data: ReminderInput) -> tuple[dict[str, list[str]], dict]:
    errors: dict[str, list[str]] = {}
    values: dict = {}
    if data.kind not in {k.value for k in ReminderKind}:
        return {"kind": [str(_l("Unknown kind of reminder."))]}, values
    values["kind"] = data.kind
    if not data.template_id or db.session.get(EmailTemplate, data.template_id) is None:
        errors["template_id"] = [str(_l("Choose an email template."))]
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
    try:
        values["extra_addresses"] = ", ".join(parse_address_list(data.extra_addresses))
    except InvalidAddress as error:
        errors["extra_addresses"] = [str(_l("Not a valid email address: %(address)s",
                                            address=error.address))]
    for flag in RECIPIENT_FLAGS:
        values[flag] = bool(getattr(data, flag))
    if (not any(values[flag] for flag in RECIPIENT_FLAGS) and not values.get("extra_addresses")
            and "extra_addresses" not in errors):
        errors["recipients"] = [str(_l("Choose at least one recipient."))]
    values["active"] = bool(data.active)
    return errors, values


def save_reminder(actor: User, campaign: Campaign, reminder: Reminder | None,
                  data: ReminderInput, locale: str = "en") -> Reminder:
    """Create (reminder=None) or edit one of the campaign's reminders."""
    errors, values = _validate(data)
    if errors:
        raise ValidationFailed(errors)
    created = reminder is None
    if not created and reminder.kind != values["kind"]:
        raise ValidationFailed({"kind": [str(_l("The kind of a reminder cannot change."))]})
    before = "" if created else describe(reminder, locale)
    before_snapshot = None if created else snapshot(reminder)
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
    db.session.flush()
    db.session.refresh(reminder)
    after = describe(reminder, locale)
    entry = audit.record(actor, "reminder.created" if created else "reminder.updated",
                         "reminder", reminder.id, after if created else f"{before} ⇒ {after}",
                         campaign.id)
    entry.details = {"before": before_snapshot, "after": snapshot(reminder)}
    db.session.commit()
    log.info("Reminder %s saved by %s", reminder.id, actor.email)
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
    entry = audit.record(actor, "reminder.activated" if active else "reminder.deactivated",
                         "reminder", reminder.id, describe(reminder, locale), campaign.id)
    entry.details = {"before": None, "after": snapshot(reminder)}
    db.session.commit()
    return reminder


def delete_reminder(actor: User, campaign: Campaign, reminder: Reminder,
                    locale: str = "en") -> None:
    """Delete a reminder. Its emails still waiting to be sent are withdrawn; those sent stay
    in the outbox."""
    _withdraw_queued(reminder, WITHDRAWN_DELETED)
    entry = audit.record(actor, "reminder.deleted", "reminder", reminder.id,
                         describe(reminder, locale), campaign.id)
    entry.details = {"before": None, "after": snapshot(reminder)}
    db.session.delete(reminder)
    db.session.commit()


def _start_from_now(reminder: Reminder) -> None:
    """Switched back on (the switch or the edit form), a reminder that has run before does not
    send what fell due while it was off: its next run starts from now, at the current closing
    date. One that never ran sends what is due, as its count shows beforehand."""
    reminder.last_run_at = clock.now()
    reminder.last_closes_at = reminder.campaign.closes_at


def _withdraw_queued(reminder: Reminder, reason: str) -> int:
    ids = db.session.scalars(sa.select(OutboxMessage.application_id).where(
        OutboxMessage.event_type == EVENT_TYPE, OutboxMessage.event_id == reminder.id,
        OutboxMessage.state.in_([OutboxState.PENDING.value, OutboxState.HELD.value]))
        .distinct()).all()
    return outbox.withdraw([i for i in ids if i is not None], reason, EVENT_TYPE,
                           [reminder.id])


def copy_reminders(source: Campaign, target: Campaign) -> list[Reminder]:
    """Give `target` a copy of each of `source`'s reminders (flushes; the caller commits)."""
    columns = ("kind", "template_id", "offset_amount", "offset_unit", "status_id",
               "also_status_ids", "repeat_every_days", "max_times", "extra_addresses",
               "active", *RECIPIENT_FLAGS)
    copies = [Reminder(campaign_id=target.id, **{c: getattr(r, c) for c in columns})
              for r in reminders_of(source)]
    db.session.add_all(copies)
    db.session.flush()
    return copies


# --- Planning: what is due, to whom ----------------------------------------------------------


@dataclass(frozen=True)
class DueEmail:
    reminder: Reminder
    application: triggers.ApplicationFacts
    recipient: triggers.Recipient
    key: str


@dataclass
class ReminderPlan:
    """The emails one reminder would queue now, before rendering; the recipients it leaves
    out (with the reason); the applications it reminds, per occurrence."""

    reminder: Reminder
    emails: list[DueEmail] = field(default_factory=list)
    skipped: list[tuple[int, triggers.Skip]] = field(default_factory=list)
    occurrences: dict[int, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.emails)

    @property
    def applications(self) -> int:
        return len({e.application.id for e in self.emails})

    def per_audience(self) -> dict[str, int]:
        """Emails to candidates, to the campaign's staff, to other addresses."""
        counts: Counter = Counter()
        staff = {m.user_id for m in self.reminder.campaign.members}
        for email in self.emails:
            if email.recipient.user_id == email.application.candidate_id:
                counts["candidates"] += 1
            elif email.recipient.user_id in staff:
                counts["staff"] += 1
            else:
                counts["addresses"] += 1
        return {name: counts[name] for name in ("candidates", "staff", "addresses")}


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S")


def _key(reminder: Reminder, application_id: int, entry: str, occurrence: int,
         email: str) -> str:
    # The uid, not the id: SQLite gives a deleted reminder's id to the next one created.
    return f"reminder:{reminder.uid}:{application_id}:{entry}:{occurrence}:{email.lower()}"[:255]


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def shifted(moment: datetime, days: int = 0, hours: int = 0) -> datetime:
    """`moment` (naive UTC) moved by `days` calendar days at the same wall-clock time in the
    platform's time zone (across a change of summer time too), then by `hours` hours."""
    if days:
        zone = _zone()
        local = moment.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)
        moment = (local + timedelta(days=days)).replace(tzinfo=zone).astimezone(UTC) \
            .replace(tzinfo=None)
    return moment + timedelta(hours=hours)


def _offset(reminder: Reminder, sign: int = 1, extra_days: int = 0) -> dict[str, int]:
    amount = reminder.offset_amount * sign
    if reminder.offset_unit == OffsetUnit.HOURS:
        return {"hours": amount, "days": extra_days * sign}
    return {"days": amount + extra_days * sign}


def moment_before_closing(reminder: Reminder) -> datetime:
    """N days before the closing date at the same time of day, or N hours before it."""
    return shifted(reminder.campaign.closes_at, **_offset(reminder, -1))


def _occurrence_moment(reminder: Reminder, entered: datetime, k: int) -> datetime:
    """Occurrence k (from 1) of a reminder after time in a status."""
    return shifted(entered, **_offset(reminder, 1, (k - 1) * (reminder.repeat_every_days or 0)))


def _occurrence_offsets(reminder: Reminder) -> list[timedelta]:
    every = timedelta(days=reminder.repeat_every_days or 0)
    return [reminder.offset + k * every for k in range(reminder.times)]


# A day in the platform's time zone is 23 to 25 hours long: the database narrows the
# applications by elapsed time with this margin, the exact moments are computed per row.
SLACK = timedelta(hours=3)


def _closing_since(reminder: Reminder) -> datetime | None:
    """The last run that handled this closing date; None when the date has moved since (the
    reminder refers to the current closing date: its moment is a new one)."""
    if reminder.last_closes_at != reminder.campaign.closes_at:
        return None
    return reminder.last_run_at


def _closing_due(reminder: Reminder, now: datetime, as_if_due: bool = False) -> bool:
    campaign = reminder.campaign
    moment = moment_before_closing(reminder)
    since = _closing_since(reminder)
    if now >= campaign.closes_at or (since is not None and moment <= since):
        return False  # closed (no late reminder), or its moment was already handled
    return moment <= now or as_if_due


def _closing_filter(reminder: Reminder) -> list:
    """The applications a reminder before the closing date is for: in draft (or a chosen
    status), not yet reminded before this closing date."""
    a, d = Application.__table__.c, ReminderDelivery.__table__.c
    wanted = [statuses.by_code(Status.DRAFT).id, *reminder.also_status_ids]
    return [a.campaign_id == reminder.campaign_id, a.status_id.in_(wanted),
            ~sa.exists().where(d.reminder_id == reminder.id, d.application_id == a.id,
                               d.occurrence == _closing_occurrence(reminder))]


def _closing_occurrence(reminder: Reminder) -> str:
    return f"{_stamp(reminder.campaign.closes_at)}:1"


def _in_status_rows(reminder: Reminder, now: datetime, since: datetime | None,
                    columns: list) -> list:
    """The applications in the reminder's status whose stay may have an occurrence in
    (since, now], narrowed by the (campaign, status, entered at) index."""
    a = Application.__table__.c
    offsets = _occurrence_offsets(reminder)
    ranges = [a.status_changed_at <= now - offsets[0] + SLACK] if since is None else [
        sa.and_(a.status_changed_at > since - off - SLACK,
                a.status_changed_at <= now - off + SLACK) for off in offsets]
    # No ORDER BY: the planner then has no reason to prefer the (campaign, status, id) index
    # and read every application in the status.
    query = sa.select(a.id, a.status_changed_at, *columns).where(
        a.campaign_id == reminder.campaign_id, a.status_id == reminder.status_id,
        sa.or_(*ranges))
    if columns:
        query = query.join_from(Application.__table__, User.__table__,
                                a.candidate_id == User.__table__.c.id)
    return sorted(db.session.execute(query).all())


def _latest_occurrence(reminder: Reminder, entered: datetime, now: datetime,
                       since: datetime | None) -> int | None:
    """The latest occurrence whose moment has come (and, after a run, came since it)."""
    latest = None
    for k in range(1, reminder.times + 1):
        moment = _occurrence_moment(reminder, entered, k)
        if moment > now:
            break
        if since is None or moment > since:
            latest = k
    return latest


def _delivered(reminder: Reminder, application_ids: list[int] | None = None) -> set:
    """(application id, occurrence) this reminder already reminded."""
    d = ReminderDelivery.__table__.c
    query = sa.select(d.application_id, d.occurrence).where(d.reminder_id == reminder.id)
    if application_ids is None:
        return set(db.session.execute(query).all())
    found = set()
    for start in range(0, len(application_ids), triggers.CHUNK):
        found.update(db.session.execute(query.where(
            d.application_id.in_(application_ids[start:start + triggers.CHUNK]))).all())
    return found


def _due_applications(reminder: Reminder, now: datetime, since: datetime | None,
                      as_if_due: bool = False) -> list[tuple[int, str, int]]:
    """(application id, entry stamp, occurrence) due in (since, now] and not reminded yet."""
    a = Application.__table__.c
    if reminder.kind == ReminderKind.BEFORE_CLOSING:
        if not _closing_due(reminder, now, as_if_due):
            return []
        entry = _stamp(reminder.campaign.closes_at)
        ids = db.session.scalars(sa.select(a.id).where(*_closing_filter(reminder))
                                 .order_by(a.id)).all()
        return [(i, entry, 1) for i in ids]
    due = []
    for application_id, entered in _in_status_rows(reminder, now, since, []):
        latest = _latest_occurrence(reminder, entered, now, since)
        if latest is not None:
            due.append((application_id, _stamp(entered), latest))
    delivered = _delivered(reminder, [i for i, _entry, _k in due])
    return [(i, entry, k) for i, entry, k in due if (i, f"{entry}:{k}") not in delivered]


def plan_reminder(reminder: Reminder, now: datetime | None = None, *,
                  audience: triggers.CampaignTriggers | None = None,
                  statuses_by_id: dict[int, Status] | None = None,
                  as_if_due: bool = False) -> ReminderPlan:
    """The emails `reminder` would queue at `now`: due applications not reminded yet for this
    occurrence, their recipients (access rules and inactive accounts applied by the trigger
    engine), minus what is already queued. `as_if_due`: a reminder before the closing date
    planned as if its moment were now."""
    now = now or clock.now()
    plan = ReminderPlan(reminder)
    since = (_closing_since(reminder) if reminder.kind == ReminderKind.BEFORE_CLOSING
             else reminder.last_run_at)
    due = _due_applications(reminder, now, since, as_if_due)
    if not due:
        return plan
    campaign = reminder.campaign
    audience = audience or triggers.CampaignTriggers(campaign, EventType.SUBMITTED)
    statuses_by_id = statuses_by_id or {s.id: s for s in statuses.all_statuses()}
    by_id = {application_id: (entry, k) for application_id, entry, k in due}
    ids = list(by_id)
    emails = []
    for start in range(0, len(ids), triggers.CHUNK):
        chunk = ids[start:start + triggers.CHUNK]
        for facts in triggers.application_facts([Application.id.in_(chunk)], campaign,
                                                statuses_by_id):
            transition = triggers.Transition(facts, None, facts.status, None)
            entry, k = by_id[facts.id]
            plan.occurrences[facts.id] = f"{entry}:{k}"
            recipients, skipped = audience.resolve(reminder, transition)
            for recipient in recipients:
                emails.append(DueEmail(reminder, facts, recipient,
                                       _key(reminder, facts.id, entry, k, recipient.email)))
            plan.skipped.extend((facts.id, skip) for skip in skipped)
    queued = _existing_keys([e.key for e in emails])
    plan.emails = [e for e in emails if e.key not in queued]
    return plan


def _existing_keys(keys: list[str]) -> set[str]:
    found: set[str] = set()
    column = OutboxMessage.__table__.c.dedupe_key
    for start in range(0, len(keys), triggers.CHUNK):
        found.update(db.session.scalars(
            sa.select(column).where(column.in_(keys[start:start + triggers.CHUNK]))))
    return found


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


# --- The cron job ----------------------------------------------------------------------------


@dataclass
class RunReport:
    """What one reminder queued (or, in a dry run, would queue) in one run."""

    reminder_id: int
    campaign_id: int
    campaign_label: str
    template_name: str
    planned: int = 0
    queued: int = 0
    applications: int = 0
    per_audience: dict[str, int] = field(default_factory=dict)


def run(now: datetime | None = None, dry_run: bool = False,
        reminder_ids: list[int] | None = None) -> list[RunReport]:
    """Queue every due reminder's emails (of `reminder_ids` only, when given): one transaction
    per campaign, so one campaign's failure leaves the others' rows in place (its own
    reminders are retried next run)."""
    now = now or clock.now()
    only = [Reminder.id.in_(reminder_ids)] if reminder_ids is not None else []
    campaign_ids = db.session.scalars(
        sa.select(Reminder.campaign_id).where(Reminder.active.is_(True), *only).distinct()
        .order_by(Reminder.campaign_id)).all()
    db.session.rollback()
    reports: list[RunReport] = []
    for campaign_id in campaign_ids:
        try:
            reports += _run_campaign(campaign_id, now, dry_run, only)
            if dry_run:
                db.session.rollback()
            else:
                db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("Reminders of campaign %s failed; retried at the next run",
                          campaign_id)
    queued = sum(r.queued for r in reports)
    if queued:
        log.info("Reminders: %s emails queued", queued)
    return reports


def _run_campaign(campaign_id: int, now: datetime, dry_run: bool,
                  only: list) -> list[RunReport]:
    campaign = db.session.get(Campaign, campaign_id)
    reminders = db.session.scalars(
        sa.select(Reminder).where(Reminder.campaign_id == campaign_id,
                                  Reminder.active.is_(True), *only)
        .options(orm.joinedload(Reminder.template).selectinload(EmailTemplate.versions))
        .order_by(Reminder.id)).unique().all()
    audience = triggers.CampaignTriggers(campaign, EventType.SUBMITTED)
    statuses_by_id = {s.id: s for s in statuses.all_statuses()}
    reports = []
    for reminder in reminders:
        plan = plan_reminder(reminder, now, audience=audience, statuses_by_id=statuses_by_id)
        report = RunReport(reminder.id, campaign.id, campaign.label, reminder.template.name,
                           planned=len(plan), applications=plan.applications,
                           per_audience=plan.per_audience())
        if not dry_run:
            report.queued = _insert(_render(plan))
            _record_skips(plan, now)
            _record_deliveries(plan, now)
            _mark_run(reminder, now)
        reports.append(report)
    return reports


def _render(plan: ReminderPlan) -> list[dict]:
    return [triggers.render_row(
        email.reminder.template, email.application, email.recipient, key=email.key,
        event_type=EVENT_TYPE, event_id=email.reminder.id,
        new_status=email.application.status, priority=OutboxPriority.BULK)
        for email in plan.emails]


def _insert(rows: list[dict]) -> int:
    """Insert, skipping any row whose dedupe key exists (another run got there first)."""
    if not rows:
        return 0
    table = OutboxMessage.__table__
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    inserted = 0
    for start in range(0, len(rows), triggers.CHUNK):
        # No RETURNING: the driver's executemany keeps one short statement (with RETURNING,
        # hundreds of rows are rendered into one statement that psycopg parses every time);
        # both drivers sum the rows each execution inserted.
        result = db.session.execute(
            insert(table).on_conflict_do_nothing().execution_options(preserve_rowcount=True),
            rows[start:start + triggers.CHUNK])
        inserted += result.rowcount
    return inserted


def _record_skips(plan: ReminderPlan, now: datetime) -> None:
    """The recipients left out (a campaign without managers, an inactive account), once per
    application and occurrence, as a trigger records them."""
    reminder = plan.reminder
    rows = [dict(application_id=application_id, trigger_id=None,
                 template_id=reminder.template_id, event_type=EVENT_TYPE,
                 event_id=reminder.id, kind=skip.kind.value, user_id=skip.user_id,
                 email=skip.email, reason=skip.reason.value, created_at=now)
            for application_id, skip in plan.skipped]
    for start in range(0, len(rows), triggers.CHUNK):
        db.session.execute(sa.insert(SkippedRecipient.__table__),
                           rows[start:start + triggers.CHUNK])


def _record_deliveries(plan: ReminderPlan, now: datetime) -> None:
    """Who this run reminded, per occurrence: kept after the outbox purge."""
    rows = [dict(reminder_id=plan.reminder.id, application_id=application_id,
                 occurrence=occurrence, created_at=now)
            for application_id, occurrence in plan.occurrences.items()]
    table = ReminderDelivery.__table__
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" \
        else sqlite.insert
    for start in range(0, len(rows), triggers.CHUNK):
        db.session.execute(insert(table).on_conflict_do_nothing(),
                           rows[start:start + triggers.CHUNK])


def _mark_run(reminder: Reminder, now: datetime) -> None:
    """Remember this run's `now` and the closing date it saw; an overlapping run that started
    later keeps its own."""
    table = Reminder.__table__
    db.session.execute(
        sa.update(table).where(table.c.id == reminder.id,
                               sa.or_(table.c.last_run_at.is_(None),
                                      table.c.last_run_at < now))
        .values(last_run_at=now, last_closes_at=reminder.campaign.closes_at))


# --- What the Emails tab shows: next run, and the count if it ran now -------------------------


def cron_trigger() -> CronTrigger:
    config = current_app.config
    return CronTrigger.from_crontab(config["REMINDERS_CRON"],
                                    timezone=config["BABEL_DEFAULT_TIMEZONE"])


def next_tick(after: datetime) -> datetime | None:
    """The cron job's first run at or after `after` (naive UTC in, naive UTC out)."""
    aware = after.replace(tzinfo=UTC).astimezone(
        ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"]))
    fire = cron_trigger().get_next_fire_time(None, aware)
    return fire.astimezone(UTC).replace(tzinfo=None) if fire else None


@dataclass
class Count:
    """What a reminder would queue if it ran now, counted by the database (never by planning
    every draft): emails, applications, emails per audience."""

    emails: int = 0
    applications: int = 0
    audience: dict[str, int] = field(
        default_factory=lambda: {"candidates": 0, "staff": 0, "addresses": 0})

    def __len__(self) -> int:
        return self.emails

    def per_audience(self) -> dict[str, int]:
        return self.audience


@dataclass
class Outlook:
    """A reminder's next run and what it would queue if it ran now."""

    reminder: Reminder
    next_run: datetime | None
    count: Count


class _Staff:
    """A reminder's recipients other than the candidate, which are the same for each of its
    applications (an application's candidate aside)."""

    def __init__(self, reminder: Reminder):
        self.id = reminder.id
        self.to_candidate = self.to_actor = False
        self.to_managers, self.to_evaluators = reminder.to_managers, reminder.to_evaluators
        self.extra_addresses = reminder.extra_addresses


def _others(reminder: Reminder, audience: triggers.CampaignTriggers,
            staff_ids: set[int]) -> tuple[set[str], int, int]:
    """(their addresses, how many are the campaign's staff, how many other addresses)."""
    anyone = SimpleNamespace(id=0, candidate_id=0, campaign=reminder.campaign, candidate=None)
    recipients = audience.recipients(_Staff(reminder), triggers.Transition(
        anyone, None, None, None))
    staff = sum(1 for r in recipients if r.user_id in staff_ids)
    return {r.email.lower() for r in recipients}, staff, len(recipients) - staff


def inactive_accounts() -> set[int]:
    """The ids of deactivated accounts (few): their candidates are skipped, not emailed."""
    return set(db.session.scalars(sa.select(User.id).where(User.active.is_(False))))


def count_if_ran_now(reminder: Reminder, now: datetime, audience: triggers.CampaignTriggers,
                     staff_ids: set[int], inactive: set[int] | None = None) -> Count:
    """The emails the cron job would queue for `reminder` at `now` (before the closing date:
    as if its moment were now), per audience. Before the closing date, the drafts are counted
    on the (campaign, status) index, whatever their number; only the few applications already
    reminded, or whose candidate is not emailed, are looked at one by one."""
    a, u = Application.__table__.c, User.__table__.c
    others, staff, addresses = _others(reminder, audience, staff_ids)
    inactive = inactive_accounts() if inactive is None else inactive
    if reminder.kind == ReminderKind.BEFORE_CLOSING:
        if not _closing_due(reminder, now, as_if_due=True):
            return Count()
        *wanted, not_reminded = _closing_filter(reminder)
        applications = db.session.scalar(
            sa.select(sa.func.count()).select_from(Application.__table__).where(*wanted))
        d = ReminderDelivery.__table__.c
        if applications and db.session.scalar(sa.select(sa.exists().where(
                d.reminder_id == reminder.id,
                d.occurrence == _closing_occurrence(reminder)))):
            applications -= db.session.scalar(
                sa.select(sa.func.count()).select_from(ReminderDelivery.__table__)
                .join(Application.__table__, a.id == d.application_id)
                .where(d.reminder_id == reminder.id,
                       d.occurrence == _closing_occurrence(reminder), *wanted))
        unreached = set(inactive)
        if others:
            unreached.update(db.session.scalars(sa.select(u.id).where(u.email.in_(others))))
        left_out, unreached = 0, sorted(unreached) if applications else []
        for start in range(0, len(unreached), triggers.CHUNK):
            left_out += db.session.scalar(
                sa.select(sa.func.count()).select_from(Application.__table__)
                .where(*wanted, not_reminded,
                       a.candidate_id.in_(unreached[start:start + triggers.CHUNK])))
        candidates = applications - left_out
    else:
        rows = _in_status_rows(reminder, now, reminder.last_run_at, [u.email, u.active])
        delivered = _delivered(reminder) if rows else set()
        applications = candidates = 0
        for application_id, entered, email, active in rows:
            k = _latest_occurrence(reminder, entered, now, reminder.last_run_at)
            if k is None or (application_id, f"{_stamp(entered)}:{k}") in delivered:
                continue
            applications += 1
            candidates += bool(active and email.lower() not in others)
    if not reminder.to_candidate:
        candidates = 0
    reached = applications if others else candidates
    return Count(emails=applications * len(others) + candidates, applications=reached,
                 audience={"candidates": candidates, "staff": applications * staff,
                           "addresses": applications * addresses})


def next_moment(reminder: Reminder, now: datetime) -> datetime | None:
    """When the cron job next has something to look at for `reminder`: before the closing
    date, its exact moment (or the next tick, to catch up on a missed one); after time in a
    status, the next tick (each application has its own moment)."""
    if not reminder.active:
        return None
    if reminder.kind != ReminderKind.BEFORE_CLOSING:
        return next_tick(now)
    closes = reminder.campaign.closes_at
    moment = moment_before_closing(reminder)
    since = _closing_since(reminder)
    if now >= closes or (since is not None and moment <= since):
        return None
    if moment > now:
        return moment
    tick = next_tick(now)
    return tick if tick and tick < closes else None


def outlook(reminder: Reminder, now: datetime | None = None, *,
            audience: triggers.CampaignTriggers | None = None,
            staff_ids: set[int] | None = None, inactive: set[int] | None = None) -> Outlook:
    """Counted by the database with the cron job's rules. Before its moment, a reminder
    before the closing date is counted as if the moment were now: who would get it if
    nothing changes."""
    now = now or clock.now()
    audience = audience or triggers.CampaignTriggers(reminder.campaign, EventType.SUBMITTED)
    if staff_ids is None:
        staff_ids = {m.user_id for m in reminder.campaign.members}
    return Outlook(reminder, next_moment(reminder, now),
                   count_if_ran_now(reminder, now, audience, staff_ids, inactive))


def outlooks(campaign: Campaign, reminders: list[Reminder] | None = None) -> dict[int, Outlook]:
    now = clock.now()
    audience = triggers.CampaignTriggers(campaign, EventType.SUBMITTED)
    staff_ids = {m.user_id for m in campaign.members}
    reminders = reminders if reminders is not None else reminders_of(campaign)
    inactive = inactive_accounts() if reminders else set()
    return {r.id: outlook(r, now, audience=audience, staff_ids=staff_ids, inactive=inactive)
            for r in reminders}


def due_moments(now: datetime | None = None) -> list[int]:
    """The active reminders before a closing date whose moment has come and not been handled
    (between two hourly runs, the worker runs these at once)."""
    now = now or clock.now()
    candidates = db.session.scalars(
        sa.select(Reminder).join(Campaign, Campaign.id == Reminder.campaign_id).where(
            Reminder.active.is_(True), Reminder.kind == ReminderKind.BEFORE_CLOSING,
            Campaign.closes_at > now).order_by(Reminder.id)).all()
    return [r.id for r in candidates if _closing_due(r, now)]
