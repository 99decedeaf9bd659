"""Applications moving: a status change (one or many, with its preview) and "Reopen for
changes". Each is one unit of work: it commits at its end, with the outbox rows the trigger
engine added, or rolls back and leaves nothing behind (`set_if_still`)."""

import logging
from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from webapp.core import audit, clock
from webapp.core.errors import NotAllowed, ValidationFailed
from webapp.extensions import db
from webapp.models import (
    Application,
    EventType,
    OutboxPriority,
    Status,
    StatusChange,
    User,
)
from webapp.services import permissions, reminders, statuses, triggers
from webapp.services.applications.staff import Selection, application_for_staff, campaign_for_staff

log = logging.getLogger("missive.applications")


# Compare-and-set, the guard of every move: a row changed meanwhile by someone else (a
# double click, two tabs, another manager) makes the move fail rather than record a history
# that did not happen.
CHANGED_MEANWHILE = _l("Some of these applications were changed by someone else meanwhile. "
                       "Reload and try again.")


def set_if_still(ids: list[int], status_id: int, values: dict, refusal=CHANGED_MEANWHILE
                 ) -> None:
    """Write `values` on the applications `ids` still in `status_id`; when one is not, roll
    back the whole unit of work and refuse with `refusal`: nothing is left behind."""
    done = db.session.execute(
        sa.update(Application)
        .where(Application.id.in_(ids), Application.status_id == status_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != len(ids):
        db.session.rollback()
        raise ValidationFailed(str(refusal))


# A pending email whose reason has gone is withdrawn, with the reason. Every move of an
# application (the candidate's submit, a status change, reopening) passes here: the status
# emails still waiting (delayed or held) announced the status it leaves, and a reminder
# queued for the status it leaves (or for drafts, once submitted) has nothing left to remind.

WITHDRAWN_SUBMITTED = reminders.WITHDRAWN_SUBMITTED


def withdraw_pointless(campaign_id: int, application_ids: list[int], new_status_id: int,
                       status_reason: str, reminder_reason: str = reminders.WITHDRAWN_LEFT
                       ) -> int:
    """Withdraw what these applications' move to `new_status_id` made pointless (in the
    caller's transaction); returns how many emails."""
    return (triggers.cancel_superseded(application_ids, status_reason)
            + reminders.withdraw_obsolete(campaign_id, application_ids, new_status_id,
                                          reminder_reason))


# The lifecycle rule. A draft belongs to its candidate: only their submit takes it out of
# Draft, and a status change never puts an application back into Draft. The one way back is
# reopen_for_changes, an explicit, audited action of a platform manager.


@dataclass
class ChangeResult:
    status: Status
    moved: int = 0
    unchanged: int = 0
    queued: int = 0
    held: int = 0  # of the queued ones, held for review
    failed: int = 0
    cancelled: int = 0
    drafts: int = 0  # skipped: never submitted, so not the staff's to change


@dataclass
class Preview:
    status: Status
    moving: int
    unchanged: int
    per_template: list[tuple[str, int]] = field(default_factory=list)  # queued, not held
    drafts: int = 0
    # Emails of automatic emails that hold theirs for review: counted as the held section
    # counts them (one per email, whoever receives it).
    held_per_template: list[tuple[str, int]] = field(default_factory=list)

    @property
    def emails(self) -> int:
        return sum(n for _name, n in self.per_template)

    @property
    def held(self) -> int:
        return sum(n for _name, n in self.held_per_template)


def _target_status(status_id: int) -> Status:
    status = db.session.get(Status, status_id)
    if status is None:
        raise ValidationFailed(str(_l("Choose a status.")), field="status")
    if status.code == Status.DRAFT:
        raise ValidationFailed(str(_l("Draft belongs to the candidate: a status change cannot "
                                      "move an application back to Draft. Use “Reopen for "
                                      "changes” on the application instead.")), field="status")
    return status


def _plan(actor: User, selection: Selection, status_id: int):
    campaign = campaign_for_staff(actor, selection.campaign_id)
    if not permissions.can_change_status(actor, campaign):
        raise NotAllowed()
    status = _target_status(status_id)
    statuses_by_id = {s.id: s for s in statuses.all_statuses()}
    selected = triggers.application_facts(selection.where(), campaign, statuses_by_id)
    drafts = [a for a in selected if a.status.code == Status.DRAFT]
    moving = [a for a in selected if a.status_id != status.id and a.status.code != Status.DRAFT]
    transitions = [triggers.Transition(a, statuses_by_id[a.status_id], status, actor)
                   for a in moving]
    engine = triggers.CampaignTriggers(campaign, EventType.STATUS_CHANGED)
    unchanged = len(selected) - len(moving) - len(drafts)
    return campaign, status, transitions, unchanged, len(drafts), engine.plan(transitions)


def preview_status_change(actor: User, selection: Selection, status_id: int) -> Preview:
    """What a change would do: how many applications move, how many emails per template,
    how many drafts it leaves alone. Computed by the same planning as the change itself, so
    the counts match."""
    _campaign, status, transitions, unchanged, drafts, plan = _plan(actor, selection, status_id)
    queued, held = Counter(), Counter()
    for email in plan.emails:
        (held if email.trigger.hold_for_review else queued)[email.trigger.template.name] += 1
    return Preview(status=status, moving=len(transitions), unchanged=unchanged,
                   per_template=list(queued.items()), drafts=drafts,
                   held_per_template=list(held.items()))


def bulk_change_status(actor: User, selection: Selection, status_id: int,
                       comment: str = "") -> ChangeResult:
    """Move the selected applications to a status, with their history rows and emails, in one
    transaction. Applications already in that status are left alone: no history, no email;
    drafts too (counted in `drafts`): they are their candidates' until submitted."""
    campaign, status, transitions, unchanged, drafts, plan = _plan(actor, selection, status_id)
    result = ChangeResult(status=status, unchanged=unchanged, drafts=drafts)
    if not transitions:
        return result
    # Rendered before the first write: on SQLite a write holds the whole database, and slow
    # templates must not hold it (sign-ins and the worker would wait, then fail). Past the
    # request's rendering time this refuses the change, with nothing written.
    rendered = triggers.render_plan(plan)
    now = clock.now()
    ids = [t.application.id for t in transitions]
    # Compare-and-set per previous status.
    by_old: dict[int, list[int]] = {}
    for transition in transitions:
        by_old.setdefault(transition.old_status.id, []).append(transition.application.id)
    for old_id, group in by_old.items():
        for start in range(0, len(group), triggers.CHUNK):
            set_if_still(group[start:start + triggers.CHUNK], old_id,
                         {"status_id": status.id, "status_changed_at": now, "updated_at": now})
    result.cancelled = withdraw_pointless(
        campaign.id, ids, status.id,
        f"Superseded by a later decision: the application moved to {status.label_en}.")
    change_ids = _record_history(by_old, status.id, actor.id, comment.strip(), now)
    # A large decision goes out at bulk priority, behind acknowledgements and single changes.
    priority = (OutboxPriority.BULK
                if len(transitions) > current_app.config["OUTBOX_BULK_THRESHOLD"]
                else OutboxPriority.NORMAL)
    outcome = triggers.enqueue_plan(plan, change_ids, priority, rendered)
    result.moved, result.queued, result.failed = len(transitions), outcome.queued, outcome.failed
    result.held = outcome.held
    db.session.commit()
    log.info("%s applications of campaign %s moved to %s by %s; %s emails queued, %s failed",
             result.moved, campaign.id, status.code, actor.email, result.queued, result.failed)
    return result


def _record_history(by_old: dict[int, list[int]], to_status_id: int, actor_id: int,
                    comment: str, now) -> dict[int, int]:
    """One history row per moved application; returns application id -> status change id.
    INSERT ... SELECT sends a few parameters per chunk instead of six per row, which is what
    made PostgreSQL slow on thousands of rows."""
    history, apps = StatusChange.__table__, Application.__table__
    change_ids: dict[int, int] = {}
    for old_id, group in by_old.items():
        for start in range(0, len(group), triggers.CHUNK):
            rows = db.session.execute(
                history.insert().from_select(
                    ["application_id", "from_status_id", "to_status_id", "changed_by_id",
                     "comment", "created_at"],
                    sa.select(apps.c.id, sa.literal(old_id), sa.literal(to_status_id),
                              sa.literal(actor_id), sa.literal(comment),
                              sa.literal(now, sa.DateTime()))
                    .where(apps.c.id.in_(group[start:start + triggers.CHUNK]))
                    .order_by(apps.c.id),
                ).returning(history.c.application_id, history.c.id))
            change_ids.update((application_id, change_id) for application_id, change_id in rows)
    return change_ids


def change_status(actor: User, application_id: int, status_id: int,
                  comment: str = "") -> ChangeResult:
    """Move one application to a status (the bulk path with one application). A draft is
    refused with the reason rather than skipped."""
    application = application_for_staff(actor, application_id)
    if not permissions.can_change_status(actor, application.campaign):
        raise NotAllowed()
    if application.status.code == Status.DRAFT:
        raise ValidationFailed(str(_l("This application is a draft: it belongs to its candidate "
                                      "until they submit it, so its status cannot be changed.")))
    return bulk_change_status(actor, Selection(application.campaign_id, ids=(application.id,)),
                              status_id, comment)


def can_reopen(actor: User, application: Application) -> bool:
    return (permissions.can_reopen_application(actor, application.campaign)
            and application.status.code != Status.DRAFT)


def reopen_for_changes(actor: User, application_id: int, comment: str = "") -> ChangeResult:
    """"Reopen for changes": a submitted (or decided) application goes back to Draft, so its
    candidate can edit it and submit it again (which sends the acknowledgement again). Its
    status emails still waiting are cancelled, its status_changed triggers to Draft fire, and
    the action is written to the history and the audit trail. Refused after the closing date,
    when the candidate could no longer submit."""
    application = application_for_staff(actor, application_id)
    if not permissions.can_reopen_application(actor, application.campaign):
        raise NotAllowed()
    if application.status.code == Status.DRAFT:
        raise ValidationFailed(str(_l("This application is already a draft.")))
    now = clock.now()
    if now >= application.campaign.closes_at:
        raise ValidationFailed(str(_l("The campaign is closed: a reopened application could not "
                                      "be submitted again.")))
    old, draft = application.status, statuses.by_code(Status.DRAFT)
    # Rendered before the first write, as a bulk change does.
    prepared = triggers.prepare_event(EventType.STATUS_CHANGED,
                                      triggers.Transition(application, old, draft, actor))
    set_if_still([application.id], old.id,
                 {"status_id": draft.id, "status_changed_at": now, "updated_at": now})
    db.session.expire(application)
    result = ChangeResult(status=draft, moved=1)
    result.cancelled = withdraw_pointless(
        application.campaign_id, [application.id], draft.id,
        "Superseded: the application was reopened for changes.")
    change = StatusChange(application_id=application.id, from_status_id=old.id,
                          to_status_id=draft.id, changed_by_id=actor.id,
                          comment=comment.strip(), created_at=now)
    db.session.add(change)
    db.session.flush()
    outcome = triggers.enqueue_prepared(prepared, change.id)
    result.queued, result.failed = outcome.queued, outcome.failed
    audit.record(actor, "application.reopened", "application", application.id,
                 f"{application.reference}: {old.code} -> draft"
                 + (f" ({comment.strip()})" if comment.strip() else ""),
                 campaign_id=application.campaign_id)
    db.session.commit()
    log.info("Application %s reopened for changes by %s", application.reference, actor.email)
    return result
