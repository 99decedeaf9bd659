"""The trigger engine: an event (a submission, a status change) becomes outbox rows.

It never commits: the rows go into the caller's transaction, so they exist if and only if the
event does. Everything an event needs (triggers, templates, campaign members, accounts behind
fixed addresses) is loaded once per campaign and event type, so a bulk status change of
thousands of applications runs no query per application for them.

Planning (which trigger sends to whom) is separate from rendering, so the status-change preview
counts exactly what the change will queue. Rendering one email into its outbox row is shared by
every kind of automatic email: `automatic_emails.rendering`.
"""

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy import orm

from webapp import outbox
from webapp.core import clock
from webapp.extensions import db
from webapp.models import (
    Application,
    Campaign,
    EmailTemplate,
    EventType,
    OutboxPriority,
    OutboxState,
    SkippedRecipient,
    Status,
    Trigger,
    User,
)
from webapp.services.automatic_emails.audience import Audience, Recipient, Skip
from webapp.services.automatic_emails.rendering import render, render_row

log = logging.getLogger("missive.triggers")

# Large enough to be fast, small enough for SQLite's limit on bound parameters.
CHUNK = 500


@dataclass(frozen=True)
class CandidateFacts:
    """What emails need of a candidate: a light, read-only stand-in for User in bulk work."""

    id: int
    email: str
    first_name: str
    last_name: str
    locale: str | None
    active: bool

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True)
class ApplicationFacts:
    """What emails need of an application: a light stand-in for Application, so a bulk change
    of thousands reads plain rows instead of building ORM objects."""

    id: int
    campaign_id: int
    candidate_id: int
    status_id: int
    reference: str
    candidate: CandidateFacts
    campaign: Campaign
    status: Status


def application_facts(query_filter: list, campaign: Campaign,
                      statuses_by_id: dict[int, Status]) -> list[ApplicationFacts]:
    """The facts of the applications matching `query_filter`, in one query."""
    a, u = Application.__table__.c, User.__table__.c
    rows = db.session.execute(
        sa.select(a.id, a.campaign_id, a.candidate_id, a.status_id, a.reference, u.email,
                  u.first_name, u.last_name, u.locale, u.active)
        .join_from(Application.__table__, User.__table__, a.candidate_id == u.id)
        .where(*query_filter).order_by(a.id)
    )
    return [ApplicationFacts(
        id=row.id, campaign_id=row.campaign_id, candidate_id=row.candidate_id,
        status_id=row.status_id, reference=row.reference,
        candidate=CandidateFacts(row.candidate_id, row.email, row.first_name, row.last_name,
                                 row.locale, row.active),
        campaign=campaign, status=statuses_by_id[row.status_id],
    ) for row in rows]


@dataclass(frozen=True)
class Transition:
    """What happened to one application: from a status to another, by someone."""

    application: Application | ApplicationFacts
    old_status: Status | None
    new_status: Status
    actor: User | None


@dataclass(frozen=True)
class PlannedEmail:
    trigger: Trigger
    transition: Transition
    recipient: Recipient


@dataclass(frozen=True)
class PlannedSkip:
    trigger: Trigger
    transition: Transition
    skip: Skip


@dataclass
class Plan:
    """The emails an event (or a batch of events) will produce, before rendering, and the
    recipients left out."""

    emails: list[PlannedEmail] = field(default_factory=list)
    skipped: list[PlannedSkip] = field(default_factory=list)

    def per_template(self) -> list[tuple[str, int]]:
        """(template name, number of emails), in the order the triggers are configured."""
        counts = Counter(e.trigger.template.name for e in self.emails)
        return list(counts.items())

    def __len__(self) -> int:
        return len(self.emails)


@dataclass
class Outcome:
    queued: int = 0
    failed: int = 0
    held: int = 0  # of the queued ones, held for review

    @property
    def total(self) -> int:
        return self.queued + self.failed


class CampaignTriggers:
    """A campaign's active triggers for one event type, loaded once with all they need."""

    def __init__(self, campaign: Campaign, event_type: EventType):
        self.campaign = campaign
        self.event_type = EventType(event_type)
        self.triggers: list[Trigger] = list(db.session.scalars(
            sa.select(Trigger)
            .where(Trigger.campaign_id == campaign.id, Trigger.event == self.event_type.value,
                   Trigger.active.is_(True))
            .options(orm.joinedload(Trigger.template).selectinload(EmailTemplate.versions))
            .order_by(Trigger.id)
        ).unique())
        self.audience = Audience(campaign)
        self._by_target: dict[int | None, list[tuple[int | None, Trigger]]] | None = None

    def matching(self, transition: Transition) -> list[Trigger]:
        if self.event_type == EventType.SUBMITTED:
            return self.triggers
        if self._by_target is None:
            self._by_target = {}
            for trigger in self.triggers:
                self._by_target.setdefault(trigger.to_status_id, []).append(
                    (trigger.from_status_id, trigger))
        old_id = transition.old_status.id if transition.old_status else None
        return [trigger for from_id, trigger in self._by_target.get(transition.new_status.id, ())
                if from_id is None or from_id == old_id]

    def plan(self, transitions: list[Transition]) -> Plan:
        plan = Plan()
        for transition in transitions:
            for trigger in self.matching(transition):
                recipients, skipped = self.resolve(trigger, transition)
                plan.emails.extend(PlannedEmail(trigger, transition, r) for r in recipients)
                plan.skipped.extend(PlannedSkip(trigger, transition, s) for s in skipped)
        return plan

    def resolve(self, trigger: Trigger,
                transition: Transition) -> tuple[list[Recipient], list[Skip]]:
        """Who receives this trigger's email about the transition's application, and who is
        left out (the audience every kind of automatic email shares)."""
        return self.audience.resolve(trigger, transition.application, transition.actor)


def render_plan(plan: Plan) -> list:
    """Each email of a plan rendered for its recipient (or the error that stopped it), before
    its event is recorded: a bulk change renders first and writes after, so that slow
    templates never hold the database's write lock. Raises ValidationFailed when the request
    has spent its rendering time: nothing is written then."""
    return [render(email.trigger.template, email.transition.application, email.recipient,
                    email.transition.old_status, email.transition.new_status,
                    email.transition.actor) for email in plan.emails]


def render_rows(plan: Plan, event_ids: dict[int, int],
                priority: OutboxPriority = OutboxPriority.NORMAL,
                rendered: list | None = None) -> list[dict]:
    """The outbox rows of a plan, rendered per recipient in their language (or taken from
    `rendered`, what render_plan gave). `event_ids` maps an application id to its event's id
    (the StatusChange row). A rendering failure gives a row stored as failed with the error:
    it must not block the action. A status trigger's delay and hold apply here."""
    now = clock.now()
    rows = []
    for n, email in enumerate(plan.emails):
        trigger, transition = email.trigger, email.transition
        event_id = event_ids[transition.application.id]
        timing = {}
        if trigger.event == EventType.STATUS_CHANGED:
            timing = dict(held=bool(trigger.hold_for_review),
                          not_before=now + timedelta(minutes=trigger.delay_minutes)
                          if trigger.delay_minutes else None)
        rows.append(render_row(
            trigger.template, transition.application, email.recipient,
            key=outbox.dedupe_key(trigger.id, trigger.event, event_id, email.recipient.email),
            event_type=trigger.event, event_id=event_id, trigger_id=trigger.id,
            old_status=transition.old_status, new_status=transition.new_status,
            actor=transition.actor, priority=priority, with_attachments=True,
            transactional=trigger.transactional,
            rendered=rendered[n] if rendered is not None else None, **timing))
    return rows


def insert_rows(rows: list[dict]) -> Outcome:
    """Insert rendered rows in the caller's transaction, many per statement."""
    frozen = {row["message_id"]: row.pop("attachments") for row in rows if "attachments" in row}
    outbox.insert_many(rows)
    outbox.add_attachments(frozen)
    failed = sum(1 for row in rows if row["state"] == OutboxState.FAILED.value)
    held = sum(1 for row in rows if row["state"] == OutboxState.HELD.value)
    return Outcome(queued=len(rows) - failed, failed=failed, held=held)


def record_skips(plan: Plan, event_ids: dict[int, int]) -> int:
    """Keep the recipients a plan left out, with the reason, in the caller's transaction."""
    now = clock.now()
    rows = [dict(application_id=s.transition.application.id, trigger_id=s.trigger.id,
                 template_id=s.trigger.template_id, event_type=s.trigger.event,
                 event_id=event_ids[s.transition.application.id], kind=s.skip.kind.value,
                 user_id=s.skip.user_id, email=s.skip.email, reason=s.skip.reason.value,
                 created_at=now) for s in plan.skipped]
    for start in range(0, len(rows), CHUNK):
        db.session.execute(sa.insert(SkippedRecipient.__table__), rows[start:start + CHUNK])
    return len(rows)


def enqueue_plan(plan: Plan, event_ids: dict[int, int],
                 priority: OutboxPriority = OutboxPriority.NORMAL,
                 rendered: list | None = None) -> Outcome:
    """The outbox rows of a plan and its skipped recipients, in the caller's transaction
    (`rendered`: the plan's emails from render_plan, when rendered beforehand)."""
    record_skips(plan, event_ids)
    return insert_rows(render_rows(plan, event_ids, priority, rendered))


@dataclass
class PreparedEvent:
    """One event's emails planned and rendered before the event is written (`prepare_event`),
    so that slow templates never hold the database's write lock."""

    transition: Transition
    plan: Plan
    rendered: list
    priority: OutboxPriority


def prepare_event(event_type: EventType, transition: Transition,
                  triggers: CampaignTriggers | None = None) -> PreparedEvent:
    """Plan and render one event's emails; writes nothing. Raises ValidationFailed when the
    request has spent its rendering time. A candidate's submission is urgent (they wait for
    the acknowledgement); a single status change is normal."""
    triggers = triggers or CampaignTriggers(transition.application.campaign, event_type)
    plan = triggers.plan([transition])
    priority = (OutboxPriority.URGENT if event_type == EventType.SUBMITTED
                else OutboxPriority.NORMAL)
    return PreparedEvent(transition, plan, render_plan(plan), priority)


def enqueue_prepared(prepared: PreparedEvent, event_id: int) -> Outcome:
    """The outbox rows of a prepared event, in the caller's transaction (never commits)."""
    return enqueue_plan(prepared.plan, {prepared.transition.application.id: event_id},
                        prepared.priority, prepared.rendered)


def enqueue_for_event(event_type: EventType, event_id: int, transition: Transition,
                      triggers: CampaignTriggers | None = None) -> Outcome:
    """Add the outbox rows of one event to the caller's transaction (never commits)."""
    return enqueue_prepared(prepare_event(event_type, transition, triggers), event_id)


def cancel_superseded(application_ids: list[int], reason: str) -> int:
    """Cancel the status emails of these applications still waiting to be sent, delayed or
    held included: a later decision replaces them (nobody gets "accepted" after "rejected" was
    decided). Rows being sent right now are left alone; acknowledgements of receipt are not
    status emails."""
    return outbox.withdraw(application_ids, reason, EventType.STATUS_CHANGED.value)
