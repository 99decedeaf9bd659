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
from webapp.models import Reminder, Role
from webapp.models.outbox import OutboxMessage
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
    assert len(outlook.count) == 4
    assert outlook.count.per_audience() == {"candidates": 2, "staff": 2, "addresses": 0}
    frozen.advance(days=7, hours=1)
    assert [r.queued for r in reminders.run()] == [4]
    after = reminders.outlook(_db.session.get(Reminder, reminder.id))
    assert after.next_run is None and len(after.count) == 0


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


# --- Withdrawn, never doubled, never skipped (the corners of scheduled reminders) -----------


def _input(reminder: Reminder, **changes) -> reminders.ReminderInput:
    values = {name: getattr(reminder, name) for name in (
        "kind", "template_id", "offset_amount", "offset_unit", "status_id", "also_status_ids",
        "repeat_every_days", "max_times", "to_candidate", "to_managers", "to_evaluators",
        "extra_addresses", "active")}
    values.update(changes)
    return reminders.ReminderInput(**values)


def _save(world, reminder: Reminder, **changes) -> Reminder:
    return reminders.save_reminder(world["manager"], world["campaign"], reminder,
                                   _input(reminder, **changes))


def test_switched_back_on_through_its_edit_form_it_sends_nothing_that_fell_due_meanwhile(
        app, world, frozen):
    reminder = _reminder(world)
    reminders.run()  # day 0: the reminder has run before
    with app.test_request_context():
        _save(world, reminder, active=False)
        frozen.advance(days=8)  # its moment (day 7) passed while it was off
        _save(world, _db.session.get(Reminder, reminder.id), active=True)
    assert [r.queued for r in reminders.run()] == [0]
    assert _rows() == []


def test_a_queued_still_a_draft_reminder_is_withdrawn_when_the_candidate_submits(
        app, world, frozen, smtp):
    _reminder(world)
    frozen.advance(days=7)
    reminders.run()
    first = world["drafts"][0]
    with app.test_request_context():
        applications.submit(first.candidate, first.id, COMPLETE)
    withdrawn = _rows(application_id=first.id)
    assert [r.state for r in withdrawn] == ["cancelled"]
    assert withdrawn[0].cancel_reason == "Withdrawn: the application was submitted."
    drain_once(app)
    assert [m.rcpt_tos[0] for m in smtp.messages if m["Subject"].startswith("Closing")] == [
        "draft1@example.org"]


def test_a_queued_in_status_reminder_is_withdrawn_when_the_application_moves_on(
        app, world, frozen):
    _in_status(world, repeat_every_days=None, max_times=1)
    frozen.advance(days=2)
    reminders.run()
    assert [r.state for r in _rows()] == ["pending"]
    with app.test_request_context():
        applications.bulk_change_status(
            world["manager"], Selection(world["campaign"].id, ids=(world["submitted"].id,)),
            factories.status("under_review").id)
    row = _rows()[0]
    assert row.state == "cancelled"
    assert row.cancel_reason == ("Withdrawn: the application left the status this "
                                 "reminder is about.")


def test_the_resubmission_after_reopening_withdraws_the_delayed_reopened_email(
        app, world, frozen, smtp):
    factories.make_trigger(world["campaign"], world["template"], to_status="draft",
                           to_candidate=True, delay_minutes=120)
    admin = factories.make_user(Role.ADMIN, email="admin@example.org")
    _db.session.commit()
    application = world["submitted"]
    with app.test_request_context():
        applications.reopen_for_changes(admin, application.id)
        frozen.advance(minutes=30)
        applications.submit(application.candidate, application.id, COMPLETE)
    _db.session.expire_all()
    delayed = _db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.event_type == "status_changed")).one()
    assert delayed.state == "cancelled"
    assert delayed.cancel_reason == "Withdrawn: the application was submitted."
    frozen.advance(hours=3)
    drain_once(app)
    assert [m.rcpt_tos for m in smtp.messages] == []


def test_a_withdrawal_reason_reads_in_the_readers_language(app, world):
    from flask_babel import force_locale

    from webapp.services import labels

    with app.test_request_context(), force_locale("fr"):
        assert labels.cancel_reason("Withdrawn: the application was submitted.") == (
            "Retiré : la candidature a été envoyée.")
        assert labels.cancel_reason(
            "Superseded by a later decision: the application moved to Accepted.") == (
            "Remplacé par une décision ultérieure : la candidature est passée à Accepté.")
        assert labels.cancel_reason("Something else") == "Something else"


def test_editing_a_reminder_after_the_outbox_purge_sends_nobody_a_second_copy(
        app, world, frozen):
    from webapp import outbox

    reminder = _in_status(world, repeat_every_days=None, max_times=1)
    frozen.advance(days=2)
    assert [r.queued for r in reminders.run()] == [1]
    drain_once(app)
    frozen.advance(days=91)
    assert outbox.purge() >= 1
    assert _rows() == []
    with app.test_request_context():
        _save(world, _db.session.get(Reminder, reminder.id), offset_amount=3)
    assert [r.queued for r in reminders.run()] == [0]
    assert _rows() == []


def test_a_recreated_reminder_sends_again_even_when_it_gets_the_deleted_ones_id(
        app, world, frozen):
    reminder = _reminder(world)
    frozen.advance(days=7)
    assert [r.queued for r in reminders.run()] == [2]
    with app.test_request_context():
        reminders.delete_reminder(world["manager"], world["campaign"], reminder)
        again = reminders.save_reminder(world["manager"], world["campaign"], None,
                                        _input(reminder))
    assert reminders.outlook(again).count.applications == 2
    assert [r.queued for r in reminders.run()] == [2]
    assert len(_rows()) == 4


def test_a_shortened_deadline_still_reminds_before_the_new_closing_date(world, frozen):
    reminder = _reminder(world)  # 3 days before day 10: day 7
    frozen.advance(days=5)
    reminders.run()  # day 5: not yet
    world["campaign"].closes_at = frozen.now() + timedelta(days=2)  # now day 7: moment day 4
    _db.session.commit()
    assert reminders.outlook(_db.session.get(Reminder, reminder.id)).next_run is not None
    frozen.advance(hours=1)
    assert [r.queued for r in reminders.run()] == [2]


def test_an_extended_deadline_reminds_the_drafts_once_more_before_the_new_date(
        world, frozen):
    _reminder(world)
    frozen.advance(days=7)
    assert [r.queued for r in reminders.run()] == [2]
    world["campaign"].closes_at += timedelta(days=10)  # day 20: the moment is day 17
    _db.session.commit()
    frozen.advance(days=1)
    assert [r.queued for r in reminders.run()] == [0]
    frozen.advance(days=9)
    assert [r.queued for r in reminders.run()] == [2]
    frozen.advance(hours=1)
    assert [r.queued for r in reminders.run()] == [0]
    assert len(_rows()) == 4


PARIS_WINTER = timedelta(hours=1)


def test_days_before_closing_are_calendar_days_across_a_dst_change(world, frozen):
    from datetime import datetime

    frozen.freeze(datetime(2027, 3, 20, 0, 0))
    # Closes on Tuesday 30 March 2027 at 10:00 in Paris (summer time, 08:00 UTC); summer time
    # began on the 28th: three days before is Saturday the 27th at 10:00, winter time.
    world["campaign"].closes_at = datetime(2027, 3, 30, 8, 0)
    _db.session.commit()
    reminder = _reminder(world)
    assert reminders.moment_before_closing(reminder) == datetime(2027, 3, 27, 9, 0)
    frozen.freeze(datetime(2027, 3, 27, 8, 30))
    assert [r.queued for r in reminders.run()] == [0]
    frozen.freeze(datetime(2027, 3, 27, 9, 0))
    assert [r.queued for r in reminders.run()] == [2]


def test_days_in_a_status_are_calendar_days_across_a_dst_change(world, frozen):
    from datetime import datetime

    frozen.freeze(datetime(2027, 3, 27, 9, 0))  # Saturday 10:00 in Paris
    world["submitted"].status_changed_at = frozen.now()
    _db.session.commit()
    _in_status(world, repeat_every_days=None, max_times=1)
    reminders.run()
    frozen.freeze(datetime(2027, 3, 29, 8, 0))  # Monday 10:00 in Paris, summer time
    assert [r.queued for r in reminders.run()] == [1]


def test_one_hour_before_a_deadline_at_half_past_midnight_leaves_at_half_past_eleven(
        app, world, frozen):
    from datetime import datetime

    from jobs import reminders as jobs

    frozen.freeze(datetime(2027, 1, 10, 12, 0))
    world["campaign"].closes_at = datetime(2027, 1, 14, 23, 30)  # 00:30 on the 15th in Paris
    _db.session.commit()
    reminder = _reminder(world, offset_amount=1, offset_unit="hours")
    moment = datetime(2027, 1, 14, 22, 30)  # 23:30 in Paris
    assert reminders.moment_before_closing(reminder) == moment
    assert reminders.outlook(reminder).next_run == moment
    frozen.freeze(datetime(2027, 1, 14, 22, 0))  # the hourly run before: not yet
    assert [r.queued for r in jobs.run_due(app)] == [0]
    frozen.freeze(datetime(2027, 1, 14, 22, 29))  # the worker looks for moments each minute
    assert jobs.run_moments(app) == []
    frozen.freeze(moment)
    assert [r.queued for r in jobs.run_moments(app)] == [2]
    frozen.advance(minutes=1)
    assert jobs.run_moments(app) == []


def test_a_reminder_to_the_managers_of_a_campaign_without_any_records_the_skip(
        app, world, frozen):
    from webapp.models import SkippedRecipient

    campaign = factories.make_campaign(label="Orphan", closes_in_days=10)
    factories.make_application(campaign, factories.make_user(
        Role.CANDIDATE, email="lonely@example.org"))
    _db.session.add(Reminder(campaign=campaign, kind="before_closing",
                             template=world["template"], offset_amount=3,
                             to_candidate=False, to_managers=True))
    _db.session.commit()
    frozen.advance(days=7)
    reminders.run()
    skips = _db.session.scalars(sa.select(SkippedRecipient).where(
        SkippedRecipient.event_type == "reminder")).all()
    assert [(s.kind, s.reason) for s in skips] == [("managers", "nobody")]
    reminders.run()
    assert len(_db.session.scalars(sa.select(SkippedRecipient)).all()) == 1


def test_the_tabs_count_leaves_out_what_the_run_leaves_out(world, frozen):
    # An inactive candidate is skipped; a fixed address that is a candidate's gets one email.
    world["drafts"][0].candidate.active = False
    _db.session.commit()
    reminder = _reminder(world, to_managers=True, extra_addresses="draft1@example.org")
    count = reminders.outlook(reminder).count
    assert (len(count), count.applications) == (4, 2)
    frozen.advance(days=7)
    assert [r.queued for r in reminders.run()] == [4]
    assert len(reminders.outlook(_db.session.get(Reminder, reminder.id)).count) == 0


def test_the_migration_keeps_what_existing_reminders_already_queued(
        database_url, make_app, tmp_path, clock):
    from tests.migration_support import Migrator, empty_database
    from webapp.models import ReminderDelivery

    migrated = empty_database(database_url, tmp_path)
    migrator = Migrator(migrated)
    migrator.upgrade()
    clock.freeze()
    app = make_app(SQLALCHEMY_DATABASE_URI=migrated)
    with app.app_context():
        campaign = factories.make_campaign(label="Old", closes_in_days=10)
        template = factories.make_template(name="Old nudge")
        for i in range(2):
            factories.make_application(campaign, factories.make_user(
                Role.CANDIDATE, email=f"old{i}@example.org"))
        reminder = Reminder(campaign=campaign, kind="before_closing", template=template,
                            offset_amount=3, to_candidate=True)
        _db.session.add(reminder)
        _db.session.commit()
        clock.advance(days=7)
        assert [r.queued for r in reminders.run()] == [2]
        reminder_id, closes_at = reminder.id, campaign.closes_at
        _db.session.remove()
        _db.engine.dispose()
    migrator.downgrade("e7a1c9d2f3b4")
    engine = sa.create_engine(migrated)
    with engine.begin() as conn:  # the keys as the previous version wrote them
        conn.execute(sa.text(
            "UPDATE outbox_messages SET dedupe_key = 'reminder:' || CAST(event_id AS VARCHAR) "
            "|| ':' || CAST(application_id AS VARCHAR) || ':closing:1:' || to_addr"))
    engine.dispose()
    migrator.upgrade()
    with app.app_context():
        reminder = _db.session.get(Reminder, reminder_id)
        assert reminder.uid == str(reminder_id) and reminder.last_closes_at == closes_at
        occurrences = _db.session.scalars(sa.select(ReminderDelivery.occurrence)).all()
        assert occurrences == [f"{closes_at:%Y%m%d%H%M%S}:1"] * 2
        clock.advance(hours=1)
        assert [r.queued for r in reminders.run()] == [0]  # nothing again after the upgrade
        _db.session.execute(sa.update(Reminder).values(last_run_at=None))
        _db.session.execute(sa.delete(OutboxMessage))  # as edited after the purge
        _db.session.commit()
        assert [r.queued for r in reminders.run()] == [0]
        _db.session.remove()
        _db.engine.dispose()
