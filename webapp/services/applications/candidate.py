"""Applications on their candidate's side: open campaigns, start, save a draft, check
and submit. Each command is one unit of work: it commits at its end or refuses having written
nothing."""

import logging
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import orm

from webapp import outbox
from webapp.core import clock
from webapp.core.errors import NotAllowed, NotFound, ValidationFailed
from webapp.extensions import db
from webapp.models import (
    Application,
    Campaign,
    EventType,
    Role,
    Status,
    StatusChange,
    User,
)
from webapp.services import documents, statuses, triggers
from webapp.services.applications.staff import new_reference
from webapp.services.applications.status import (
    WITHDRAWN_SUBMITTED,
    set_if_still,
    withdraw_pointless,
)

log = logging.getLogger("missive.applications")

TITLE_MAX = 200


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
    # A save racing with a submit must not change a submitted application.
    set_if_still([application.id], application.status_id, {**values, "updated_at": clock.now()},
                 _l("This application was already submitted: it can no longer be changed."))
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
    # Of two concurrent submits (double click, two tabs, a replayed request) exactly one
    # finds the application still in draft; the other changes nothing.
    set_if_still([application.id], draft.id,
                 {**values, "status_id": submitted.id, "submitted_at": now,
                  "status_changed_at": now, "updated_at": now},
                 _l("This application was already submitted."))
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


