"""The trigger engine and the application commands, on the real database."""

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests import factories
from webapp.core import clock
from webapp.core.errors import NotAllowed, NotFound, ValidationFailed
from webapp.extensions import db as _db
from webapp.models import (
    Application,
    EmailTemplateVersion,
    EventType,
    OutboxPriority,
    Role,
    StatusChange,
)
from webapp.models.outbox import OutboxMessage
from webapp.services import applications, triggers
from webapp.services.applications import Answers, Selection

COMPLETE = Answers(title="Tide pools", summary="A study", motivation="Curiosity", confirmed=True)


def _rows(**where):
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
    for name, value in where.items():
        query = query.where(getattr(OutboxMessage, name) == value)
    return list(_db.session.scalars(query))


def _count(model):
    return _db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture(autouse=True)
def in_english(app, db):
    """Messages are translated when raised: read them in English."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


@pytest.fixture
def campaign(db):
    manager = factories.make_user(Role.MANAGER, email="boss@example.org", first_name="Bo")
    evaluator = factories.make_user(Role.EVALUATOR, email="eve@example.org", locale="fr")
    campaign = factories.make_campaign(label="Grants", managers=[manager],
                                       evaluators=[evaluator])
    return campaign


@pytest.fixture
def acknowledgement(campaign):
    template = factories.make_template(
        name="Ack", versions={"en": ("Received: {{ campaign_label }}", "<p>Hi {{ recipient_name }}"
                                     " {{ application_reference }}</p>"),
                              "fr": ("Reçu : {{ campaign_label }}", "<p>Bonjour</p>")})
    return factories.make_trigger(campaign, template, event=EventType.SUBMITTED)


def _draft(campaign, email="cand@example.org", locale="en"):
    candidate = factories.make_user(Role.CANDIDATE, email=email, locale=locale)
    application = factories.make_application(campaign, candidate)
    _db.session.commit()
    return candidate, application


# --- submission ---------------------------------------------------------------------------


def test_submit_moves_to_submitted_and_queues_the_acknowledgement_in_the_candidate_language(
        db, campaign, acknowledgement):
    candidate, application = _draft(campaign)
    applications.submit(candidate, application.id, COMPLETE)

    assert application.status.code == "submitted"
    assert application.submitted_at is not None
    change = db.session.scalars(sa.select(StatusChange)).one()
    assert (change.from_status.code, change.to_status.code) == ("draft", "submitted")
    [row] = _rows()
    assert row.to_addr == "cand@example.org"
    assert row.subject == "Received: Grants"
    assert application.reference in row.body_html
    assert row.locale == "en"
    assert (row.event_type, row.event_id, row.state) == ("submitted", change.id, "pending")
    assert row.dedupe_key == f"{acknowledgement.id}:submitted:{change.id}:cand@example.org"
    assert row.headers["Auto-Submitted"] == "auto-generated"


def test_an_acknowledgement_is_urgent(db, campaign, acknowledgement):
    candidate, application = _draft(campaign)
    applications.submit(candidate, application.id, COMPLETE)
    [row] = _rows()
    assert row.priority == OutboxPriority.URGENT


def test_submitting_twice_is_refused_and_queues_one_email(db, campaign, acknowledgement):
    candidate, application = _draft(campaign)
    applications.submit(candidate, application.id, COMPLETE)
    with pytest.raises(ValidationFailed, match="already submitted"):
        applications.submit(candidate, application.id, COMPLETE)
    assert len(_rows()) == 1
    assert _count(StatusChange) == 1


def test_two_concurrent_submits_produce_one_submission_and_one_email(
        app, db, campaign, acknowledgement):
    candidate, application = _draft(campaign)
    candidate_id, application_id = candidate.id, application.id
    db.session.remove()
    barrier = threading.Barrier(2)
    outcomes = []

    def submit():
        with app.app_context():
            user = _db.session.get(type(candidate), candidate_id)
            _db.session.get(Application, application_id).status  # noqa: B018 - loaded first
            barrier.wait()
            try:
                applications.submit(user, application_id, COMPLETE)
                outcomes.append("submitted")
            except ValidationFailed:
                outcomes.append("refused")
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(outcomes) == ["refused", "submitted"]
    assert len(_rows()) == 1
    assert _count(StatusChange) == 1


def test_submitting_after_the_closing_date_is_refused_and_changes_nothing(
        db, campaign, acknowledgement, monkeypatch):
    candidate, application = _draft(campaign)
    closes = campaign.closes_at
    monkeypatch.setattr(clock, "now", lambda: closes + timedelta(minutes=1))
    with pytest.raises(ValidationFailed, match="closed"):
        applications.submit(candidate, application.id, COMPLETE)
    db.session.rollback()
    assert application.status.code == "draft"
    assert application.title == "My project"
    assert _rows() == [] and _count(StatusChange) == 0


def test_submitting_someone_elses_application_is_refused_and_changes_nothing(
        db, campaign, acknowledgement):
    _owner, application = _draft(campaign)
    intruder = factories.make_user(Role.CANDIDATE, email="intruder@example.org")
    with pytest.raises(NotFound):
        applications.submit(intruder, application.id, COMPLETE)
    with pytest.raises(NotFound):
        applications.save_draft(intruder, application.id, COMPLETE)
    db.session.rollback()
    assert application.status.code == "draft" and application.title == "My project"
    assert _rows() == []


def test_an_incomplete_application_cannot_be_submitted(db, campaign, acknowledgement):
    candidate, application = _draft(campaign)
    with pytest.raises(ValidationFailed) as raised:
        applications.submit(candidate, application.id, Answers(title="T"))
    assert set(raised.value.errors) == {"summary", "motivation", "confirmed"}
    assert application.status.code == "draft" and _rows() == []


def test_a_draft_is_saved_and_a_submitted_application_is_read_only(db, campaign):
    candidate, application = _draft(campaign)
    applications.save_draft(candidate, application.id, Answers(title="Draft title"))
    db.session.expire_all()
    assert application.title == "Draft title"
    applications.submit(candidate, application.id, COMPLETE)
    with pytest.raises(ValidationFailed, match="already submitted"):
        applications.save_draft(candidate, application.id, Answers(title="Changed"))
    db.session.expire_all()
    assert application.title == "Tide pools"


def test_one_application_per_candidate_and_campaign(db, campaign):
    candidate = factories.make_user(Role.CANDIDATE, email="solo@example.org")
    first = applications.start_application(candidate, campaign.id)
    again = applications.start_application(candidate, campaign.id)
    assert first.id == again.id
    assert _count(Application) == 1


# --- status changes -----------------------------------------------------------------------


@pytest.fixture
def submitted(db, campaign):
    made = []
    for n in range(3):
        candidate = factories.make_user(Role.CANDIDATE, email=f"c{n}@example.org",
                                        locale="fr" if n == 0 else "en")
        made.append(factories.make_application(campaign, candidate, status_code="submitted"))
    db.session.commit()
    return made


def _manager():
    return _db.session.scalars(sa.select(factories.User)
                               .where(factories.User.email == "boss@example.org")).one()


def test_a_status_change_records_history_and_queues_per_recipient_in_their_language(
        db, campaign, submitted):
    template = factories.make_template(versions={
        "en": ("{{ application_reference }} is {{ status_label }}", "<p>{{ status_label }}</p>"),
        "fr": ("{{ application_reference }} : {{ status_label }}", "<p>{{ status_label }}</p>"),
    })
    trigger = factories.make_trigger(campaign, template, to_status="accepted",
                                     to_candidate=True, to_actor=True, to_managers=True,
                                     extra_addresses="office@example.org, BOSS@example.org")
    db.session.commit()
    application = submitted[0]
    result = applications.change_status(_manager(), application.id,
                                        factories.status("accepted").id, "Great work")

    assert (result.moved, result.queued, result.failed) == (1, 3, 0)
    change = db.session.scalars(sa.select(StatusChange)).one()
    assert change.comment == "Great work" and change.to_status.code == "accepted"
    rows = {r.to_addr: r for r in _rows()}
    # The actor is also a manager and a fixed address: one email for them.
    assert set(rows) == {"c0@example.org", "boss@example.org", "office@example.org"}
    assert rows["c0@example.org"].subject == f"{application.reference} : Accepté"
    assert rows["boss@example.org"].subject == f"{application.reference} is Accepted"
    assert rows["office@example.org"].locale == template.default_locale
    assert {r.dedupe_key for r in rows.values()} == {
        f"{trigger.id}:status_changed:{change.id}:{addr}" for addr in rows}


def test_setting_the_same_status_is_a_no_op(db, campaign, submitted):
    factories.make_trigger(campaign, factories.make_template(), to_status="submitted")
    db.session.commit()
    result = applications.change_status(_manager(), submitted[0].id,
                                        factories.status("submitted").id)
    assert (result.moved, result.unchanged, result.queued) == (0, 1, 0)
    assert _count(StatusChange) == 0 and _rows() == []


def test_a_trigger_with_a_source_status_fires_only_from_that_status(db, campaign, submitted):
    factories.make_trigger(campaign, factories.make_template(), to_status="accepted",
                           from_status="under_review")
    submitted[1].status = factories.status("under_review")
    db.session.commit()
    result = applications.bulk_change_status(
        _manager(), Selection(campaign.id, ids=(submitted[0].id, submitted[1].id)),
        factories.status("accepted").id)
    assert (result.moved, result.queued) == (2, 1)
    assert [r.application_id for r in _rows()] == [submitted[1].id]


def test_inactive_accounts_and_people_who_may_not_see_the_application_get_nothing(
        db, campaign, submitted):
    factories.make_user(Role.CANDIDATE, email="ghost@example.org", active=False)
    no_longer_evaluator = factories.make_user(Role.CANDIDATE, email="former@example.org")
    campaign.members.append(factories.CampaignMember(user=no_longer_evaluator,
                                                     role="evaluator"))
    submitted[0].candidate.active = False
    factories.make_trigger(campaign, factories.make_template(), to_status="rejected",
                           to_candidate=True, to_evaluators=True,
                           extra_addresses="ghost@example.org")
    db.session.commit()
    applications.change_status(_manager(), submitted[0].id, factories.status("rejected").id)
    assert [r.to_addr for r in _rows()] == ["eve@example.org"]


def test_a_new_decision_cancels_the_pending_emails_of_the_previous_one(db, campaign, submitted):
    ack = factories.make_trigger(campaign, factories.make_template(),
                                 event=EventType.SUBMITTED)
    factories.make_trigger(campaign, factories.make_template(name="Yes"), to_status="accepted")
    factories.make_trigger(campaign, factories.make_template(name="No"), to_status="rejected")
    db.session.commit()
    application = submitted[0]
    from webapp import outbox

    outbox.enqueue(key=outbox.dedupe_key(ack.id, "submitted", 1, "c0@example.org"),
                   to_addr="c0@example.org", subject="Ack", body_html="<p>Ack</p>",
                   body_text="Ack", event_type="submitted", application_id=application.id)
    db.session.commit()
    manager = _manager()
    applications.change_status(manager, application.id, factories.status("accepted").id)
    applications.change_status(manager, application.id, factories.status("rejected").id)

    yes, no = _rows(event_type="status_changed")
    assert (yes.subject, yes.state) == ("About Grants", "cancelled")
    assert yes.cancel_reason == ("Superseded by a later decision: the application moved to "
                                 "Rejected.")
    assert no.state == "pending" and no.template_id != yes.template_id
    [acknowledgement] = _rows(event_type="submitted")
    assert acknowledgement.state == "pending"  # not a status email: never superseded


def test_emails_already_sent_are_not_cancelled(db, campaign, submitted):
    factories.make_trigger(campaign, factories.make_template(), to_status="accepted")
    db.session.commit()
    manager = _manager()
    applications.change_status(manager, submitted[0].id, factories.status("accepted").id)
    [sent] = _rows()
    sent.state = "sent"
    db.session.commit()
    applications.change_status(manager, submitted[0].id, factories.status("rejected").id)
    db.session.refresh(sent)
    assert sent.state == "sent" and sent.cancel_reason == ""


def test_a_template_that_fails_to_render_stores_a_failed_row_and_does_not_block(
        db, campaign, submitted):
    template = factories.make_template(name="Broken")
    db.session.execute(sa.update(EmailTemplateVersion)
                       .where(EmailTemplateVersion.template_id == template.id)
                       .values(body_html="<p>{{ candidate_name.nope.deeper }}</p>"))
    factories.make_trigger(campaign, template, to_status="accepted")
    db.session.commit()
    db.session.expire_all()
    result = applications.change_status(_manager(), submitted[0].id,
                                        factories.status("accepted").id)
    assert (result.moved, result.queued, result.failed) == (1, 0, 1)
    [row] = _rows()
    assert row.state == "failed" and row.last_error.startswith("Rendering failed:")
    assert submitted[0].status.code == "accepted"


def test_an_error_after_the_rows_were_added_leaves_neither_change_nor_rows(
        app, db, campaign, submitted, monkeypatch):
    factories.make_trigger(campaign, factories.make_template(), to_status="accepted")
    db.session.commit()
    real_insert = triggers.insert_rows
    inserted = []

    def insert_then_fail(rows):
        inserted.append(real_insert(rows))
        raise RuntimeError("disk full")

    monkeypatch.setattr(triggers, "insert_rows", insert_then_fail)
    with pytest.raises(RuntimeError):
        applications.change_status(_manager(), submitted[0].id, factories.status("accepted").id)
    assert inserted and inserted[0].queued == 1  # the rows were really added
    db.session.remove()  # what the end of a request does
    assert _rows() == [] and _count(StatusChange) == 0
    assert _db.session.get(Application, submitted[0].id).status.code == "submitted"


def test_the_preview_counts_exactly_what_the_change_queues(db, campaign, submitted):
    factories.make_trigger(campaign, factories.make_template(name="Decision"),
                           to_status="accepted", to_candidate=True, to_managers=True,
                           to_evaluators=True)
    factories.make_trigger(campaign, factories.make_template(name="Notice"),
                           to_status="accepted", to_candidate=False,
                           extra_addresses="office@example.org")
    submitted[2].status = factories.status("accepted")
    db.session.commit()
    selection = Selection(campaign.id, all_matching=True)
    accepted = factories.status("accepted").id
    preview = applications.preview_status_change(_manager(), selection, accepted)
    assert (preview.moving, preview.unchanged) == (2, 1)
    assert preview.per_template == [("Decision", 6), ("Notice", 2)]

    result = applications.bulk_change_status(_manager(), selection, accepted)
    assert result.moved == preview.moving
    assert result.queued == preview.emails == len(_rows()) == 8


def test_evaluators_change_statuses_only_in_campaigns_they_are_assigned_to(
        db, campaign, submitted):
    eve = db.session.scalars(sa.select(factories.User)
                             .where(factories.User.email == "eve@example.org")).one()
    stranger = factories.make_user(Role.EVALUATOR, email="stranger@example.org")
    candidate = submitted[0].candidate
    db.session.commit()
    accepted = factories.status("accepted").id
    for outsider in (stranger, candidate):
        with pytest.raises(NotAllowed):
            applications.change_status(outsider, submitted[0].id, accepted)
        with pytest.raises(NotAllowed):
            applications.bulk_change_status(outsider, Selection(campaign.id, all_matching=True),
                                            accepted)
    assert _count(StatusChange) == 0
    assert applications.change_status(eve, submitted[0].id, accepted).moved == 1


def test_a_status_change_of_many_applications_at_once_is_bulk_mail(app, db, campaign,
                                                                  submitted):
    template = factories.make_template()
    factories.make_trigger(campaign, template, to_status="accepted", to_candidate=True)
    factories.make_trigger(campaign, template, to_status="rejected", to_candidate=True)
    db.session.commit()
    app.config["OUTBOX_BULK_THRESHOLD"] = 2
    applications.change_status(_manager(), submitted[0].id, factories.status("accepted").id)
    assert [r.priority for r in _rows()] == [OutboxPriority.NORMAL]

    # Two applications at once: not more than the threshold, still normal.
    applications.bulk_change_status(_manager(), Selection(campaign.id, ids=(
        submitted[1].id, submitted[2].id)), factories.status("accepted").id)
    assert [r.priority for r in _rows()] == [OutboxPriority.NORMAL] * 3

    # Three at once: more than the threshold, bulk.
    applications.bulk_change_status(_manager(), Selection(campaign.id, all_matching=True),
                                    factories.status("rejected").id)
    assert [r.priority for r in _rows(state="pending", to_addr="c0@example.org")] == [
        OutboxPriority.BULK]
    assert {r.priority for r in _rows(state="pending")} == {OutboxPriority.BULK}


def test_bulk_change_of_a_filter_moves_only_matching_applications(db, campaign, submitted):
    submitted[1].candidate.first_name = "Zoé"
    db.session.commit()
    result = applications.bulk_change_status(
        _manager(), Selection(campaign.id, all_matching=True, search="zoé"),
        factories.status("under_review").id)
    assert result.moved == 1
    assert [a.status.code for a in submitted] == ["submitted", "under_review", "submitted"]


def test_rows_carry_the_template_sender_name_reply_to_cc_and_bcc(db, campaign, submitted):
    template = factories.make_template(sender_name="Grants Office",
                                       reply_to="office@example.org",
                                       cc="copy@example.org", bcc="archive@example.org")
    trigger = factories.make_trigger(campaign, template, to_status="accepted")
    db.session.commit()
    applications.change_status(_manager(), submitted[1].id, factories.status("accepted").id)
    [row] = _rows()
    assert row.sender == "Grants Office <no-reply@missive.example.org>"
    assert (row.reply_to, row.cc, row.bcc) == ("office@example.org", "copy@example.org",
                                               "archive@example.org")
    assert row.headers["Auto-Submitted"] == "auto-generated"
    assert row.message_id.endswith("@missive.example.org>")
    assert (row.trigger_id, row.template_id, row.campaign_id, row.application_id) == (
        trigger.id, template.id, campaign.id, submitted[1].id)
    assert row.recipient_user_id == submitted[1].candidate_id
