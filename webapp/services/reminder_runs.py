"""The reminders' cron job: turns what is due into outbox rows, one transaction per campaign.
When a reminder is due, and who gets it, is `reminder_planning`'s business; this module queues
the planned emails, records who was left out and who was reminded, and remembers the run."""

import logging
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects import postgresql, sqlite

from webapp.core import clock
from webapp.extensions import db
from webapp.models import (
    Campaign,
    EmailTemplate,
    Reminder,
    ReminderDelivery,
    SkippedRecipient,
)
from webapp.services import statuses, triggers
from webapp.services.automatic_emails.audience import Audience
from webapp.services.reminder_planning import (
    EVENT_TYPE,
    ReminderPlan,
    plan_reminder,
    queue_emails,
)

log = logging.getLogger("missive.reminders")


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
    audience = Audience(campaign)
    statuses_by_id = {s.id: s for s in statuses.all_statuses()}
    reports = []
    for reminder in reminders:
        plan = plan_reminder(reminder, now, audience=audience, statuses_by_id=statuses_by_id)
        report = RunReport(reminder.id, campaign.id, campaign.label, reminder.template.name,
                           planned=len(plan), applications=plan.applications,
                           per_audience=plan.per_audience())
        if not dry_run:
            report.queued = queue_emails(plan)
            _record_skips(plan, now)
            _record_deliveries(plan, now)
            _mark_run(reminder, now)
        reports.append(report)
    return reports


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
