"""Scheduled reminders: when one is due, and to whom (see `services.reminders` for when a
reminder fires). Shared by the cron job (`reminders.run`) and the Emails tab's outlook
(`reminder_outlook`); reads only.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from apscheduler.triggers.cron import CronTrigger
from flask import current_app
from sqlalchemy import orm

from webapp import outbox
from webapp.core import clock
from webapp.extensions import db
from webapp.models import (
    Application,
    Campaign,
    OffsetUnit,
    OutboxPriority,
    Reminder,
    ReminderDelivery,
    ReminderKind,
    Status,
    User,
)
from webapp.services import statuses, triggers
from webapp.services.automatic_emails import rendering
from webapp.services.automatic_emails.audience import (
    Audience,
    Recipient,
    Skip,
)

EVENT_TYPE = "reminder"


def reminders_of(campaign: Campaign) -> list[Reminder]:
    return list(db.session.scalars(
        sa.select(Reminder).where(Reminder.campaign_id == campaign.id)
        .options(orm.joinedload(Reminder.template), orm.joinedload(Reminder.status))
        .order_by(Reminder.id)))



# --- Planning: what is due, to whom ----------------------------------------------------------


@dataclass(frozen=True)
class DueEmail:
    reminder: Reminder
    application: triggers.ApplicationFacts
    recipient: Recipient
    key: str


@dataclass
class ReminderPlan:
    """The emails one reminder would queue now, before rendering; the recipients it leaves
    out (with the reason); the applications it reminds, per occurrence."""

    reminder: Reminder
    emails: list[DueEmail] = field(default_factory=list)
    skipped: list[tuple[int, Skip]] = field(default_factory=list)
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


def stamp(moment: datetime) -> str:
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


def closing_since(reminder: Reminder) -> datetime | None:
    """The last run that handled this closing date; None when the date has moved since (the
    reminder refers to the current closing date: its moment is a new one)."""
    if reminder.last_closes_at != reminder.campaign.closes_at:
        return None
    return reminder.last_run_at


def closing_due(reminder: Reminder, now: datetime, as_if_due: bool = False) -> bool:
    campaign = reminder.campaign
    moment = moment_before_closing(reminder)
    since = closing_since(reminder)
    if now >= campaign.closes_at or (since is not None and moment <= since):
        return False  # closed (no late reminder), or its moment was already handled
    return moment <= now or as_if_due


def closing_filter(reminder: Reminder) -> list:
    """The applications a reminder before the closing date is for: in draft (or a chosen
    status), not yet reminded before this closing date."""
    a, d = Application.__table__.c, ReminderDelivery.__table__.c
    wanted = [statuses.by_code(Status.DRAFT).id, *reminder.also_status_ids]
    return [a.campaign_id == reminder.campaign_id, a.status_id.in_(wanted),
            ~sa.exists().where(d.reminder_id == reminder.id, d.application_id == a.id,
                               d.occurrence == closing_occurrence(reminder))]


def closing_occurrence(reminder: Reminder) -> str:
    return f"{stamp(reminder.campaign.closes_at)}:1"


def in_status_rows(reminder: Reminder, now: datetime, since: datetime | None,
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


def latest_occurrence(reminder: Reminder, entered: datetime, now: datetime,
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


def delivered_keys(reminder: Reminder, application_ids: list[int] | None = None) -> set:
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
        if not closing_due(reminder, now, as_if_due):
            return []
        entry = stamp(reminder.campaign.closes_at)
        ids = db.session.scalars(sa.select(a.id).where(*closing_filter(reminder))
                                 .order_by(a.id)).all()
        return [(i, entry, 1) for i in ids]
    due = []
    for application_id, entered in in_status_rows(reminder, now, since, []):
        latest = latest_occurrence(reminder, entered, now, since)
        if latest is not None:
            due.append((application_id, stamp(entered), latest))
    delivered = delivered_keys(reminder, [i for i, _entry, _k in due])
    return [(i, entry, k) for i, entry, k in due if (i, f"{entry}:{k}") not in delivered]


def plan_reminder(reminder: Reminder, now: datetime | None = None, *,
                  audience: Audience | None = None,
                  statuses_by_id: dict[int, Status] | None = None,
                  as_if_due: bool = False) -> ReminderPlan:
    """The emails `reminder` would queue at `now`: due applications not reminded yet for this
    occurrence, their recipients (access rules and inactive accounts applied by the audience
    every automatic email shares), minus what is already queued. `as_if_due`: a reminder
    before the closing date planned as if its moment were now."""
    now = now or clock.now()
    plan = ReminderPlan(reminder)
    since = (closing_since(reminder) if reminder.kind == ReminderKind.BEFORE_CLOSING
             else reminder.last_run_at)
    due = _due_applications(reminder, now, since, as_if_due)
    if not due:
        return plan
    campaign = reminder.campaign
    audience = audience or Audience(campaign)
    statuses_by_id = statuses_by_id or {s.id: s for s in statuses.all_statuses()}
    by_id = {application_id: (entry, k) for application_id, entry, k in due}
    ids = list(by_id)
    emails = []
    for start in range(0, len(ids), triggers.CHUNK):
        chunk = ids[start:start + triggers.CHUNK]
        for facts in triggers.application_facts([Application.id.in_(chunk)], campaign,
                                                statuses_by_id):
            entry, k = by_id[facts.id]
            plan.occurrences[facts.id] = f"{entry}:{k}"
            recipients, skipped = audience.resolve(reminder, facts)
            for recipient in recipients:
                emails.append(DueEmail(reminder, facts, recipient,
                                       _key(reminder, facts.id, entry, k, recipient.email)))
            plan.skipped.extend((facts.id, skip) for skip in skipped)
    queued = outbox.known_keys([e.key for e in emails])
    plan.emails = [e for e in emails if e.key not in queued]
    return plan


def queue_emails(plan: ReminderPlan) -> int:
    """Render a plan's emails and insert them in the caller's transaction, skipping any whose
    dedupe key exists (another run got there first); returns how many were inserted. The
    files the template attaches are frozen now, as a trigger's are (`rendering.render_row`):
    each letter rendered once and stored by hash, so a retry sends the same bytes."""
    rows = [rendering.render_row(
        email.reminder.template, email.application, email.recipient, key=email.key,
        event_type=EVENT_TYPE, event_id=email.reminder.id,
        new_status=email.application.status, priority=OutboxPriority.BULK,
        transactional=email.reminder.transactional, with_attachments=True)
        for email in plan.emails]
    frozen = {row["message_id"]: row.pop("attachments") for row in rows if "attachments" in row}
    inserted = outbox.insert_new(rows)
    outbox.add_attachments(frozen)  # only the rows inserted: the others have theirs
    return inserted


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
