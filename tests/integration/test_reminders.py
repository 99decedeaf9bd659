"""Scheduled reminders on the real database, with a frozen clock moved forward by the tests."""

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from jobs import reminders as jobs_reminders
from jobs.cli import register as register_jobs
from jobs.drain import drain_once
from tests import factories
from tests.outbox_support import clock_fixture  # noqa: F401
from webapp.extensions import db as _db
from webapp.models import OutboxMessage, Reminder, Role
from webapp.services import applications, reminders
from webapp.services.applications import Answers, Selection

COMPLETE = Answers(title="Tide pools", summary="A study", motivation="Curiosity", confirmed=True)


def _rows(**where) -> list[OutboxMessage]:
    _db.session.expire_all()
    query = sa.select(OutboxMessage).where(OutboxMessage.event_type == "reminder")
    for name, value in where.items():
        query = query.where(getattr(OutboxMessage, name) == value)
    return list(_db.session.scalars(query.order_by(OutboxMessage.id)))


@pytest.fixture
def frozen(clock):
    clock.freeze()
    return clock


@pytest.fixture
def world(db, frozen):
    """A campaign closing in 10 days, a manager and an evaluator, two drafts and a submitted
    application, a reminder template in two languages."""
    manager = factories.make_user(Role.MANAGER, email="boss@example.org", locale="en")
    evaluator = factories.make_user(Role.EVALUATOR, email="eve@example.org", locale="fr")
    campaign = factories.make_campaign(label="Grants", closes_in_days=10, managers=[manager],
                                       evaluators=[evaluator])
    template = factories.make_template(
        name="Nudge", versions={"en": ("Closing soon: {{ campaign_label }}",
                                       "<p>Hello {{ recipient_name }}, {{ status_label }}</p>"),
                                "fr": ("Bientôt fermé : {{ campaign_label }}",
                                       "<p>Bonjour {{ recipient_name }}</p>")})
    drafts = [factories.make_application(campaign, factories.make_user(
        Role.CANDIDATE, email=f"draft{i}@example.org")) for i in range(2)]
    submitted = factories.make_application(campaign, factories.make_user(
        Role.CANDIDATE, email="done@example.org"), status_code="submitted")
    _db.session.commit()
    return dict(campaign=campaign, template=template, drafts=drafts, submitted=submitted,
                manager=manager, evaluator=evaluator)


def _reminder(world, **fields) -> Reminder:
    values = dict(kind="before_closing", template=world["template"], offset_amount=3,
                  offset_unit="days", to_candidate=True)
    values.update(fields)
    reminder = Reminder(campaign=world["campaign"], **values)
    _db.session.add(reminder)
    _db.session.commit()
    return reminder


def test_a_reminder_before_closing_fires_once_at_its_moment(app, world, frozen, smtp):
    _reminder(world)
    frozen.advance(days=7, minutes=-1)
    assert reminders.run() and _rows() == []  # a minute early: nothing
    frozen.advance(minutes=1)
    reports = reminders.run()
    assert [r.queued for r in reports] == [2]
    assert sorted(m.to_addr for m in _rows()) == ["draft0@example.org", "draft1@example.org"]
    frozen.advance(hours=1)
    assert [r.queued for r in reminders.run()] == [0]  # the next run: nothing more
    frozen.advance(days=2)
    reminders.run()
    assert len(_rows()) == 2
    drain_once(app)
    received = sorted(m.rcpt_tos[0] for m in smtp.messages)
    assert received == ["draft0@example.org", "draft1@example.org"]
    assert smtp.messages[0]["Subject"] == "Closing soon: Grants"


def test_a_rerun_after_a_lost_last_run_still_sends_nothing_twice(world, frozen):
    reminder = _reminder(world)
    frozen.advance(days=8)
    reminders.run()
    # As if the run's bookkeeping had been lost (a crash right after the commit of another
    # worker): the dedupe key alone refuses the second copy.
    _db.session.execute(sa.update(Reminder).where(Reminder.id == reminder.id)
                        .values(last_run_at=None))
    _db.session.commit()
    assert [r.queued for r in reminders.run()] == [0]
    assert len(_rows()) == 2


def test_two_workers_running_the_job_at_once_queue_each_email_once(app, world, frozen):
    campaign = world["campaign"]
    for i in range(40):
        factories.make_application(campaign, factories.make_user(
            Role.CANDIDATE, email=f"many{i}@example.org"))
    _db.session.commit()
    _reminder(world)
    frozen.advance(days=7)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(sum(r.queued for r in jobs_reminders.run_due(app)))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    rows = _rows()
    assert len(rows) == 42 == sum(results)
    assert len({m.to_addr for m in rows}) == 42


def test_a_draft_submitted_before_the_moment_gets_no_reminder(app, world, frozen):
    _reminder(world)
    first = world["drafts"][0]
    frozen.advance(days=5)
    with app.test_request_context():
        applications.submit(first.candidate, first.id, COMPLETE)
    frozen.advance(days=2)
    reminders.run()
    assert [m.to_addr for m in _rows()] == ["draft1@example.org"]


def test_also_chosen_statuses_and_each_recipient_in_their_language(world, frozen):
    submitted = factories.status("submitted")
    _reminder(world, also_status_ids=[submitted.id], to_candidate=True, to_evaluators=True)
    outsider = factories.make_user(Role.CANDIDATE, email="former@example.org")
    world["campaign"].members.append(
        factories.CampaignMember(user=outsider, role="evaluator"))
    _db.session.commit()
    frozen.advance(days=7)
    reminders.run()
    rows = _rows()
    by_address = {}
    for row in rows:
        by_address.setdefault(row.to_addr, []).append(row)
    # The evaluator once per application, in French; the account that may not see
    # applications (listed as evaluator without the role) is skipped.
    assert sorted(by_address) == ["done@example.org", "draft0@example.org",
                                  "draft1@example.org", "eve@example.org"]
    assert len(by_address["eve@example.org"]) == 3
    assert {r.subject for r in by_address["eve@example.org"]} == {"Bientôt fermé : Grants"}
    assert by_address["draft0@example.org"][0].subject == "Closing soon: Grants"


def test_the_count_before_acting_matches_what_is_queued(world, frozen):
    reminder = _reminder(world, to_managers=True)
    outlook = reminders.outlook(reminder)
    assert outlook.next_run is not None
    assert outlook.next_run >= frozen.now() + timedelta(days=7)
    assert len(outlook.plan) == 4
    assert outlook.plan.per_audience() == {"candidates": 2, "staff": 2, "addresses": 0}
    frozen.advance(days=7, hours=1)
    assert [r.queued for r in reminders.run()] == [4]
    after = reminders.outlook(_db.session.get(Reminder, reminder.id))
    assert after.next_run is None and len(after.plan) == 0


def test_after_downtime_past_the_closing_date_nothing_is_sent(world, frozen):
    _reminder(world)
    reminders.run()  # a run before the moment
    frozen.advance(days=11)  # the worker was down until after closing
    reminders.run()
    assert _rows() == []


def test_after_downtime_across_the_moment_the_reminder_leaves_once_late(world, frozen):
    _reminder(world)
    reminders.run()
    frozen.advance(days=9)  # down from day 0 to day 9; closes on day 10
    reminders.run()
    reminders.run()
    assert len(_rows()) == 2


def _in_status(world, **fields) -> Reminder:
    values = dict(kind="in_status", status_id=factories.status("submitted").id,
                  offset_amount=2, repeat_every_days=3, max_times=3)
    values.update(fields)
    return _reminder(world, **values)


def test_a_repeating_reminder_fires_at_each_occurrence_and_stops_after_k(world, frozen):
    _in_status(world)
    sent_on = []
    for day in range(1, 16):
        frozen.advance(days=1)
        if sum(r.queued for r in reminders.run()):
            sent_on.append(day)
    assert sent_on == [2, 5, 8]
    rows = _rows()
    assert [r.to_addr for r in rows] == ["done@example.org"] * 3
    assert [r.dedupe_key.split(":")[4] for r in rows] == ["1", "2", "3"]


def test_after_downtime_only_the_latest_occurrence_is_sent(world, frozen):
    _in_status(world)
    frozen.advance(days=1)
    reminders.run()
    frozen.advance(days=5)  # down over occurrences 1 (day 2) and 2 (day 5)
    assert [r.queued for r in reminders.run()] == [1]
    frozen.advance(days=2)
    reminders.run()
    assert [r.dedupe_key.split(":")[4] for r in _rows()] == ["2", "3"]


def test_an_application_that_moved_on_gets_nothing_and_a_new_stay_starts_again(
        app, world, frozen):
    reminder = _in_status(world, repeat_every_days=None, max_times=1)
    manager = world["manager"]
    application = world["submitted"]
    frozen.advance(days=1)
    reminders.run()
    with app.test_request_context():
        applications.bulk_change_status(manager, Selection(world["campaign"].id,
                                                           ids=(application.id,)),
                                        factories.status("under_review").id)
    frozen.advance(days=3)
    reminders.run()
    assert _rows() == []
    with app.test_request_context():
        applications.bulk_change_status(manager, Selection(world["campaign"].id,
                                                           ids=(application.id,)),
                                        factories.status("submitted").id)
    frozen.advance(days=2)
    reminders.run()
    assert [r.application_id for r in _rows()] == [application.id]
    assert reminders.outlook(_db.session.get(Reminder, reminder.id)).next_run is not None


def test_the_cli_prints_what_it_would_queue_then_queues_it(app, world, frozen):
    _reminder(world)
    frozen.advance(days=7)
    register_jobs(app)
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["reminders", "run", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would queue 2 emails for 2 applications (2 to candidates)" in dry.output
    assert "Would queue 2 emails." in dry.output
    assert _rows() == []
    real = runner.invoke(args=["reminders", "run"])
    assert "Queued 2 emails." in real.output
    assert len(_rows()) == 2
