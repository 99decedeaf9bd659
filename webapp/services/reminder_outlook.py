"""What the Emails tab shows of a scheduled reminder: its next run, and what it would queue
if it ran now (counted, not planned one application at a time); and the moments the worker
runs between two ticks.
"""

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from webapp.core import clock
from webapp.extensions import db
from webapp.models import (
    Application,
    Campaign,
    Reminder,
    ReminderDelivery,
    ReminderKind,
    User,
)
from webapp.services import triggers
from webapp.services.automatic_emails.audience import (
    Audience,
)
from webapp.services.reminder_planning import (
    closing_due,
    closing_filter,
    closing_occurrence,
    closing_since,
    delivered_keys,
    in_status_rows,
    latest_occurrence,
    moment_before_closing,
    next_tick,
    reminders_of,
    stamp,
)


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


def _others(reminder: Reminder, audience: Audience,
            staff_ids: set[int]) -> tuple[set[str], int, int]:
    """(the addresses of its recipients other than the candidate, how many are the campaign's
    staff, how many other addresses): the same for each of its applications."""
    recipients = audience.staff(reminder)
    staff = sum(1 for r in recipients if r.user_id in staff_ids)
    return {r.email.lower() for r in recipients}, staff, len(recipients) - staff


def inactive_accounts() -> set[int]:
    """The ids of deactivated accounts (few): their candidates are skipped, not emailed."""
    return set(db.session.scalars(sa.select(User.id).where(User.active.is_(False))))


def count_if_ran_now(reminder: Reminder, now: datetime, audience: Audience,
                     staff_ids: set[int], inactive: set[int] | None = None) -> Count:
    """The emails the cron job would queue for `reminder` at `now` (before the closing date:
    as if its moment were now), per audience. Before the closing date, the drafts are counted
    on the (campaign, status) index, whatever their number; only the few applications already
    reminded, or whose candidate is not emailed, are looked at one by one."""
    a, u = Application.__table__.c, User.__table__.c
    others, staff, addresses = _others(reminder, audience, staff_ids)
    inactive = inactive_accounts() if inactive is None else inactive
    if reminder.kind == ReminderKind.BEFORE_CLOSING:
        if not closing_due(reminder, now, as_if_due=True):
            return Count()
        *wanted, not_reminded = closing_filter(reminder)
        applications = db.session.scalar(
            sa.select(sa.func.count()).select_from(Application.__table__).where(*wanted))
        d = ReminderDelivery.__table__.c
        if applications and db.session.scalar(sa.select(sa.exists().where(
                d.reminder_id == reminder.id,
                d.occurrence == closing_occurrence(reminder)))):
            applications -= db.session.scalar(
                sa.select(sa.func.count()).select_from(ReminderDelivery.__table__)
                .join(Application.__table__, a.id == d.application_id)
                .where(d.reminder_id == reminder.id,
                       d.occurrence == closing_occurrence(reminder), *wanted))
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
        rows = in_status_rows(reminder, now, reminder.last_run_at, [u.email, u.active])
        delivered = delivered_keys(reminder) if rows else set()
        applications = candidates = 0
        for application_id, entered, email, active in rows:
            k = latest_occurrence(reminder, entered, now, reminder.last_run_at)
            if k is None or (application_id, f"{stamp(entered)}:{k}") in delivered:
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
    since = closing_since(reminder)
    if now >= closes or (since is not None and moment <= since):
        return None
    if moment > now:
        return moment
    tick = next_tick(now)
    return tick if tick and tick < closes else None


def outlook(reminder: Reminder, now: datetime | None = None, *,
            audience: Audience | None = None,
            staff_ids: set[int] | None = None, inactive: set[int] | None = None) -> Outlook:
    """Counted by the database with the cron job's rules. Before its moment, a reminder
    before the closing date is counted as if the moment were now: who would get it if
    nothing changes."""
    now = now or clock.now()
    audience = audience or Audience(reminder.campaign)
    if staff_ids is None:
        staff_ids = {m.user_id for m in reminder.campaign.members}
    return Outlook(reminder, next_moment(reminder, now),
                   count_if_ran_now(reminder, now, audience, staff_ids, inactive))


def outlooks(campaign: Campaign, reminders: list[Reminder] | None = None) -> dict[int, Outlook]:
    now = clock.now()
    audience = Audience(campaign)
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
    return [r.id for r in candidates if closing_due(r, now)]
