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
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from apscheduler.triggers.cron import CronTrigger
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import orm
from sqlalchemy.dialects import postgresql, sqlite

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
    Reminder,
    ReminderKind,
    Status,
    User,
)
from webapp.services import statuses, triggers

log = logging.getLogger("missive.reminders")

EVENT_TYPE = "reminder"
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
    if created:
        reminder = Reminder(campaign_id=campaign.id)
        db.session.add(reminder)
    timing = ("offset_amount", "offset_unit", "status_id", "repeat_every_days", "max_times")
    if not created and any(getattr(reminder, name) != values[name] for name in timing):
        # New moments: the next run looks at every one of them (the dedupe key still
        # refuses what this reminder already sent for the same occurrence).
        reminder.last_run_at = None
    for name, value in values.items():
        setattr(reminder, name, value)
    reminder.updated_at = clock.now()
    db.session.flush()
    db.session.refresh(reminder)
    after = describe(reminder, locale)
    audit.record(actor, "reminder.created" if created else "reminder.updated", "reminder",
                 reminder.id, after if created else f"{before} ⇒ {after}", campaign.id)
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
        reminder.last_run_at = clock.now()
    audit.record(actor, "reminder.activated" if active else "reminder.deactivated",
                 "reminder", reminder.id, describe(reminder, locale), campaign.id)
    db.session.commit()
    return reminder


def delete_reminder(actor: User, campaign: Campaign, reminder: Reminder,
                    locale: str = "en") -> None:
    """Delete a reminder. Emails it already queued stay in the outbox."""
    audit.record(actor, "reminder.deleted", "reminder", reminder.id,
                 describe(reminder, locale), campaign.id)
    db.session.delete(reminder)
    db.session.commit()


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
    """The emails one reminder would queue now, before rendering."""

    reminder: Reminder
    emails: list[DueEmail] = field(default_factory=list)

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
    return f"reminder:{reminder.id}:{application_id}:{entry}:{occurrence}:{email.lower()}"[:255]


def moment_before_closing(reminder: Reminder) -> datetime:
    return reminder.campaign.closes_at - reminder.offset


def _occurrence_offsets(reminder: Reminder) -> list[timedelta]:
    every = timedelta(days=reminder.repeat_every_days or 0)
    return [reminder.offset + k * every for k in range(reminder.times)]


def _due_applications(reminder: Reminder, now: datetime, since: datetime | None,
                      as_if_due: bool = False) -> list[tuple[int, str, int]]:
    """(application id, entry stamp, occurrence) due in (since, now], through the indexes:
    (campaign, status) for drafts, (campaign, status, entered at) for time in a status."""
    a = Application.__table__.c
    campaign = reminder.campaign
    if reminder.kind == ReminderKind.BEFORE_CLOSING:
        moment = moment_before_closing(reminder)
        if now >= campaign.closes_at or (since is not None and moment <= since):
            return []  # closed (no late reminder), or its moment was already handled
        if moment > now and not as_if_due:
            return []
        wanted = [statuses.by_code(Status.DRAFT).id, *reminder.also_status_ids]
        ids = db.session.scalars(sa.select(a.id).where(
            a.campaign_id == campaign.id, a.status_id.in_(wanted)).order_by(a.id)).all()
        return [(i, "closing", 1) for i in ids]
    offsets = _occurrence_offsets(reminder)
    ranges = [a.status_changed_at <= now - offsets[0]] if since is None else [
        sa.and_(a.status_changed_at > since - off, a.status_changed_at <= now - off)
        for off in offsets]
    # No ORDER BY: the planner then has no reason to prefer the (campaign, status, id) index
    # and read every application in the status.
    rows = sorted(db.session.execute(sa.select(a.id, a.status_changed_at).where(
        a.campaign_id == campaign.id, a.status_id == reminder.status_id, sa.or_(*ranges),
    )).all())
    due = []
    for application_id, entered in rows:
        # The latest occurrence whose moment has come (and, after a run, came since it).
        latest = max((k for k, off in enumerate(offsets, 1) if entered + off <= now
                      and (since is None or entered + off > since)), default=None)
        if latest is not None:
            due.append((application_id, _stamp(entered), latest))
    return due


def plan_reminder(reminder: Reminder, now: datetime | None = None, *,
                  audience: triggers.CampaignTriggers | None = None,
                  statuses_by_id: dict[int, Status] | None = None,
                  as_if_due: bool = False) -> ReminderPlan:
    """The emails `reminder` would queue at `now`: due applications, their recipients (access
    rules and inactive accounts applied by the trigger engine), minus what is already queued.
    `as_if_due`: a reminder before the closing date counted as if its moment were now."""
    now = now or clock.now()
    plan = ReminderPlan(reminder)
    due = _due_applications(reminder, now, reminder.last_run_at, as_if_due)
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
            for recipient in audience.recipients(reminder, transition):
                emails.append(DueEmail(reminder, facts, recipient,
                                       _key(reminder, facts.id, entry, k, recipient.email)))
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


def run(now: datetime | None = None, dry_run: bool = False) -> list[RunReport]:
    """Queue every due reminder's emails: one transaction per campaign, so one campaign's
    failure leaves the others' rows in place (its own reminders are retried next run)."""
    now = now or clock.now()
    campaign_ids = db.session.scalars(
        sa.select(Reminder.campaign_id).where(Reminder.active.is_(True)).distinct()
        .order_by(Reminder.campaign_id)).all()
    db.session.rollback()
    reports: list[RunReport] = []
    for campaign_id in campaign_ids:
        try:
            reports += _run_campaign(campaign_id, now, dry_run)
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


def _run_campaign(campaign_id: int, now: datetime, dry_run: bool) -> list[RunReport]:
    campaign = db.session.get(Campaign, campaign_id)
    reminders = db.session.scalars(
        sa.select(Reminder).where(Reminder.campaign_id == campaign_id,
                                  Reminder.active.is_(True))
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


def _mark_run(reminder: Reminder, now: datetime) -> None:
    """Remember this run's `now`; an overlapping run that started later keeps its own."""
    table = Reminder.__table__
    db.session.execute(
        sa.update(table).where(table.c.id == reminder.id,
                               sa.or_(table.c.last_run_at.is_(None),
                                      table.c.last_run_at < now))
        .values(last_run_at=now))


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
class Outlook:
    """A reminder's next run and what it would queue if it ran now."""

    reminder: Reminder
    next_run: datetime | None
    plan: ReminderPlan


def outlook(reminder: Reminder, now: datetime | None = None) -> Outlook:
    """Counted by the same planning as the cron job. Before its moment, a reminder before the
    closing date is counted as if the moment were now: who would get it if nothing changes."""
    now = now or clock.now()
    next_run = None
    if reminder.active:
        if reminder.kind == ReminderKind.BEFORE_CLOSING:
            moment = moment_before_closing(reminder)
            done = reminder.last_run_at is not None and reminder.last_run_at >= moment
            if not done and now < reminder.campaign.closes_at:
                tick = next_tick(max(moment, now))
                next_run = tick if tick and tick < reminder.campaign.closes_at else None
        else:
            next_run = next_tick(now)
    return Outlook(reminder, next_run, plan_reminder(reminder, now, as_if_due=True))


def outlooks(campaign: Campaign) -> dict[int, Outlook]:
    now = clock.now()
    return {r.id: outlook(r, now) for r in reminders_of(campaign)}
