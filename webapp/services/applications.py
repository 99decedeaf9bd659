"""Applications: start, save, submit, change status (one or many), and the lists around them.

Each command is one transaction: it commits at its end, with the outbox rows the trigger
engine added, or rolls back and leaves nothing behind.
"""

import base64
import logging
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import orm

from webapp import outbox
from webapp.core import audit, clock
from webapp.core.errors import NotAllowed, NotFound, ValidationFailed
from webapp.core.paging import Page, Sort, keyset_page
from webapp.extensions import db
from webapp.models import (
    Application,
    Campaign,
    EventType,
    OutboxPriority,
    Role,
    SkippedRecipient,
    Status,
    StatusChange,
    User,
)
from webapp.services import documents, permissions, reminders, statuses, triggers

log = logging.getLogger("missive.applications")

PAGE_SIZE = 50
TITLE_MAX = 200


REFERENCE_PREFIX = "MIS-"


def new_reference() -> str:
    """A short, unguessable application reference, e.g. MIS-K3VQ7ZP2."""
    return REFERENCE_PREFIX + base64.b32encode(secrets.token_bytes(5)).decode()


# --- candidate side -----------------------------------------------------------------------


def open_campaigns() -> list[Campaign]:
    """Published campaigns accepting applications now, closing soonest first."""
    now = clock.now()
    return list(db.session.scalars(
        sa.select(Campaign)
        .where(Campaign.published.is_(True), Campaign.opens_at <= now, Campaign.closes_at > now)
        .order_by(Campaign.closes_at, Campaign.id)
    ))


def my_applications(candidate: User) -> list[Application]:
    return list(db.session.scalars(
        sa.select(Application).where(Application.candidate_id == candidate.id)
        .options(orm.joinedload(Application.campaign), orm.joinedload(Application.status))
        .order_by(Application.id.desc())
    ))


def own_application(candidate: User, application_id: int) -> Application:
    """The candidate's own application; someone else's is reported as missing, not forbidden,
    so ids cannot be probed."""
    application = db.session.get(Application, application_id)
    if application is None or application.candidate_id != candidate.id:
        raise NotFound()
    return application


def start_application(candidate: User, campaign_id: int) -> Application:
    """The candidate's application to this campaign, created as a draft the first time."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or not campaign.published:
        raise NotFound()
    if not candidate.has_role(Role.CANDIDATE):
        raise NotAllowed()
    existing = db.session.scalar(sa.select(Application).where(
        Application.campaign_id == campaign.id, Application.candidate_id == candidate.id))
    if existing is not None:
        return existing
    if not campaign.is_open(clock.now()):
        raise ValidationFailed(str(_l("This campaign is not accepting applications.")))
    application = Application(campaign=campaign, candidate=candidate,
                              status=statuses.by_code(Status.DRAFT), reference=new_reference(),
                              created_at=clock.now(), status_changed_at=clock.now())
    db.session.add(application)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        # Two tabs started at once: the other one won, use its application.
        db.session.rollback()
        return db.session.scalars(sa.select(Application).where(
            Application.campaign_id == campaign_id,
            Application.candidate_id == candidate.id)).one()
    log.info("Application %s started by %s", application.reference, candidate.email)
    return application


@dataclass
class Answers:
    title: str = ""
    summary: str = ""
    motivation: str = ""
    confirmed: bool = False

    def values(self) -> dict:
        return {"title": self.title.strip(), "summary": self.summary.strip(),
                "motivation": self.motivation.strip(), "confirmed": bool(self.confirmed)}


def _editable(candidate: User, application_id: int) -> Application:
    application = own_application(candidate, application_id)
    if application.status.code != Status.DRAFT:
        raise ValidationFailed(str(_l("This application was already submitted: it can no "
                                      "longer be changed.")))
    return application


def save_draft(candidate: User, application_id: int, answers: Answers) -> Application:
    """Keep the answers so far; nothing is checked for completeness."""
    application = _editable(candidate, application_id)
    values = answers.values()
    if len(values["title"]) > TITLE_MAX:
        raise ValidationFailed(str(_l("At most %(n)d characters.", n=TITLE_MAX)), field="title")
    # Compare-and-set: a save racing with a submit must not change a submitted application.
    done = db.session.execute(
        sa.update(Application)
        .where(Application.id == application.id,
               Application.status_id == application.status_id)
        .values(**values, updated_at=clock.now())
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        db.session.rollback()
        raise ValidationFailed(str(_l("This application was already submitted: it can no "
                                      "longer be changed.")))
    db.session.commit()
    return application


def _completeness_errors(values: dict) -> dict[str, list[str]]:
    required = str(_l("This field is required to submit."))
    errors = {name: [required] for name in ("title", "summary", "motivation")
              if not values[name]}
    if len(values["title"]) > TITLE_MAX:
        errors["title"] = [str(_l("At most %(n)d characters.", n=TITLE_MAX))]
    if not values["confirmed"]:
        errors["confirmed"] = [str(_l("Confirm that your answers are accurate."))]
    return errors


def _refuse_unconfirmed(candidate: User) -> None:
    # Unconfirmed addresses may prepare, not submit: submitting makes the platform email
    # whatever address was typed.
    raise ValidationFailed(str(_l(
        "Confirm your email address before submitting: follow the link we sent to "
        "%(email)s. Your answers were saved as a draft.", email=candidate.email)))


def _check_submittable(application: Application, values: dict) -> None:
    if not application.candidate.email_confirmed:
        _refuse_unconfirmed(application.candidate)
    if clock.now() >= application.campaign.closes_at:
        raise ValidationFailed(str(_l("The campaign closed on %(date)s: applications can no "
                                      "longer be submitted.",
                                      date=application.campaign.closes_at.date().isoformat())))
    errors = _completeness_errors(values) | documents.completeness_errors(application)
    if errors:
        raise ValidationFailed(errors)


def check_submission(candidate: User, application_id: int, answers: Answers) -> Application:
    """Whether these answers could be submitted now: raises ValidationFailed with what stops
    them, changes nothing. Submitting asks for confirmation after the draft is saved (by
    save_draft, in its own unit of work) and this check passed."""
    application = _editable(candidate, application_id)
    _check_submittable(application, answers.values())
    return application


def acknowledgement_queued(application: Application) -> bool:
    """Whether an email about the submission is on its way to the candidate (the receipt
    says so only then)."""
    return outbox.queued_about(application.id, EventType.SUBMITTED.value,
                               application.candidate_id)


def submit_draft(candidate: User, application_id: int) -> Application:
    """The confirmed step: submit the answers saved by save_draft and checked by
    check_submission."""
    application = _editable(candidate, application_id)
    return submit(candidate, application_id, Answers(
        title=application.title, summary=application.summary,
        motivation=application.motivation, confirmed=application.confirmed))


def submit(candidate: User, application_id: int, answers: Answers) -> Application:
    """Submit: draft -> submitted with the given answers, and the submission's emails, in one
    transaction. Refused after the closing date, a second time, or for someone else; a refusal
    changes nothing (the answers are kept by save_draft, before)."""
    application = _editable(candidate, application_id)
    now = clock.now()
    values = answers.values()
    _check_submittable(application, values)
    draft, submitted = application.status, statuses.by_code(Status.SUBMITTED)
    # Rendered before the first write, as a bulk change does: on SQLite a write holds the
    # whole database, and a slow template must not hold it.
    prepared = triggers.prepare_event(
        EventType.SUBMITTED, triggers.Transition(application, draft, submitted, candidate))
    # Compare-and-set: of two concurrent submits (double click, two tabs, a replayed request)
    # exactly one finds the application still in draft; the other changes nothing.
    done = db.session.execute(
        sa.update(Application)
        .where(Application.id == application.id, Application.status_id == draft.id)
        .values(**values, status_id=submitted.id, submitted_at=now, status_changed_at=now,
                updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        db.session.rollback()
        raise ValidationFailed(str(_l("This application was already submitted.")))
    db.session.expire(application)
    withdraw_pointless(application.campaign_id, [application.id], submitted.id,
                       WITHDRAWN_SUBMITTED, WITHDRAWN_SUBMITTED)
    change = StatusChange(application_id=application.id, from_status_id=draft.id,
                          to_status_id=submitted.id, changed_by_id=candidate.id, created_at=now)
    db.session.add(change)
    db.session.flush()
    triggers.enqueue_prepared(prepared, change.id)
    db.session.commit()
    log.info("Application %s submitted by %s", application.reference, candidate.email)
    return application


# --- staff side ---------------------------------------------------------------------------


def campaigns_for_staff(user: User) -> list[Campaign]:
    """The campaigns whose applications this person may see."""
    query = sa.select(Campaign).order_by(Campaign.closes_at.desc(), Campaign.id.desc())
    campaigns = db.session.scalars(query).all()
    return [c for c in campaigns if permissions.can_view_campaign_applications(user, c)]


def campaign_for_staff(user: User, campaign_id: int) -> Campaign:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound()
    if not permissions.can_view_campaign_applications(user, campaign):
        raise NotAllowed()
    return campaign


def application_for_staff(user: User, application_id: int) -> Application:
    application = db.session.get(Application, application_id)
    if application is None:
        raise NotFound()
    if not permissions.can_view_campaign_applications(user, application.campaign):
        raise NotAllowed()
    return application


@dataclass(frozen=True)
class Selection:
    """Which applications of a campaign: explicit ids, or every one matching a filter."""

    campaign_id: int
    ids: tuple[int, ...] = ()
    all_matching: bool = False
    status_id: int | None = None
    search: str = ""

    def where(self) -> list:
        clauses = [Application.campaign_id == self.campaign_id]
        if not self.all_matching:
            clauses.append(Application.id.in_(self.ids or (-1,)))
        if self.status_id:
            clauses.append(Application.status_id == self.status_id)
        if term := self.search.strip():
            if term.upper().startswith(REFERENCE_PREFIX):
                # A reference is found through its unique index, not by scanning names.
                clauses.append(Application.reference == term.upper())
            else:
                # Never correlated: the query around it may itself join users. autoescape:
                # "%" and "_" typed in the box are letters, not wildcards.
                clauses.append(Application.candidate_id.in_(sa.select(User.id).where(sa.or_(
                    User.email.icontains(term, autoescape=True),
                    (User.first_name + " " + User.last_name).icontains(term, autoescape=True),
                )).correlate(None)))
        return clauses


# Counting a million matching rows costs more than the page itself; past this the list says
# "more than N" (the bulk change's confirmation still counts exactly what it will move).
EXACT_COUNT_UP_TO = 10_000


# The list's sortable columns. Each sorts with the id as tie-breaker, so the keyset
# (value, id) of the last row on a page is where the next page starts. Expressions are never
# NULL: row-value comparisons with NULL match nothing.
_NEVER = datetime(1970, 1, 1)
SORT_KEYS = {
    "reference": lambda: Application.reference,
    "candidate": lambda: sa.func.lower(User.last_name + " " + User.first_name),
    "title": lambda: sa.func.lower(Application.title),
    "status": lambda: Status.position,
    "submitted": lambda: sa.func.coalesce(Application.submitted_at, _NEVER),
}


def _sorted(query, sort: Sort, after: int | None):
    """Order a query of applications by `sort`, starting after the row `after`."""
    if not sort.key:
        if after:
            query = query.where(Application.id < after)
        return query.order_by(Application.id.desc())
    expression = SORT_KEYS[sort.key]()
    query = (query.join(User, User.id == Application.candidate_id)
             .join(Status, Status.id == Application.status_id))
    if after:
        start = db.session.scalar(
            sa.select(expression).select_from(Application)
            .join(User, User.id == Application.candidate_id)
            .join(Status, Status.id == Application.status_id)
            .where(Application.id == after))
        if start is not None:
            key = sa.tuple_(expression, Application.id)
            query = query.where(key < sa.tuple_(start, after) if sort.descending
                                else key > sa.tuple_(start, after))
    if sort.descending:
        return query.order_by(expression.desc(), Application.id.desc())
    return query.order_by(expression.asc(), Application.id.asc())


def list_applications(user: User, selection: Selection, after: int | None = None,
                      limit: int = PAGE_SIZE, sort: Sort = Sort()) -> Page:
    """One page of a campaign's applications, newest first or by a column, by keyset (after
    the last row shown): the cost of a page does not grow with how far the reader went."""
    campaign_for_staff(user, selection.campaign_id)
    clauses = selection.where()
    query = (sa.select(Application).where(*clauses)
             .options(orm.joinedload(Application.candidate), orm.joinedload(Application.status))
             .limit(limit + 1))
    rows = list(db.session.scalars(_sorted(query, sort, after)).unique())
    counted = sa.select(Application.id).where(*clauses).limit(EXACT_COUNT_UP_TO + 1).subquery()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(counted))
    return keyset_page(rows, limit, lambda a: a.id, "after", started=bool(after),
                       total=min(total, EXACT_COUNT_UP_TO),
                       total_is_lower_bound=total > EXACT_COUNT_UP_TO)


def export_rows(user: User, selection: Selection, sort: Sort = Sort(), locale: str = "en",
                chunk: int = 1000):
    """Every application matching the selection, as tuples for a CSV file, read a keyset page
    at a time: a campaign of 100,000 applications never sits in memory at once. Access is
    checked now, not when the first row is read."""
    campaign_for_staff(user, selection.campaign_id)
    return _export_rows(selection, sort, locale, chunk)


def _export_rows(selection: Selection, sort: Sort, locale: str, chunk: int):
    after = None
    while True:
        query = (sa.select(Application).where(*selection.where())
                 .options(orm.joinedload(Application.candidate),
                          orm.joinedload(Application.status))
                 .limit(chunk))
        rows = list(db.session.scalars(_sorted(query, sort, after)).unique())
        for a in rows:
            yield (a.reference, a.candidate.last_name, a.candidate.first_name, a.candidate.email,
                   a.title, a.status.label_for(locale), a.submitted_at, a.created_at)
        if len(rows) < chunk:
            return
        # Rows already written are only weakly held by the session: memory stays flat.
        after = rows[-1].id


def history(application: Application) -> list[StatusChange]:
    return list(db.session.scalars(
        sa.select(StatusChange).where(StatusChange.application_id == application.id)
        .options(orm.joinedload(StatusChange.from_status), orm.joinedload(StatusChange.to_status),
                 orm.joinedload(StatusChange.changed_by))
        .order_by(StatusChange.id)
    ))


def emails(application: Application) -> list:
    """Every email this application caused, newest first, with its state and reason."""
    return outbox.of_application(application.id)


def skipped_recipients(application: Application) -> list[SkippedRecipient]:
    """The recipients its emails left out, and why, newest first."""
    return list(db.session.scalars(
        sa.select(SkippedRecipient).where(SkippedRecipient.application_id == application.id)
        .options(orm.joinedload(SkippedRecipient.template))
        .order_by(SkippedRecipient.id.desc())
    ))


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
    # Compare-and-set per previous status: an application changed meanwhile by someone else
    # makes the whole change fail rather than record a history that did not happen.
    by_old: dict[int, list[int]] = {}
    for transition in transitions:
        by_old.setdefault(transition.old_status.id, []).append(transition.application.id)
    for old_id, group in by_old.items():
        for start in range(0, len(group), triggers.CHUNK):
            chunk = group[start:start + triggers.CHUNK]
            done = db.session.execute(
                sa.update(Application.__table__)
                .where(Application.__table__.c.id.in_(chunk),
                       Application.__table__.c.status_id == old_id)
                .values(status_id=status.id, status_changed_at=now, updated_at=now)
            ).rowcount
            if done != len(chunk):
                db.session.rollback()
                raise ValidationFailed(str(_l("Some of these applications were changed by "
                                              "someone else meanwhile. Reload and try again.")))
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
    done = db.session.execute(
        sa.update(Application)
        .where(Application.id == application.id, Application.status_id == old.id)
        .values(status_id=draft.id, status_changed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        db.session.rollback()
        raise ValidationFailed(str(_l("Some of these applications were changed by "
                                      "someone else meanwhile. Reload and try again.")))
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
