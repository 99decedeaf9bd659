"""Each automatic email and reminder is marked transactional or not, by a manager: a
non-transactional email carries one-click unsubscribe and is not sent to someone who
unsubscribed (a visible `suppressed` row); a transactional one carries none and is sent."""

import re
from email.utils import parseaddr

import pytest
import sqlalchemy as sa

from jobs.drain import drain_once
from tests import factories
from tests.migration_support import Migrator, empty_database
from tests.outbox_support import clock_fixture  # noqa: F401
from webapp.core import clock as core_clock
from webapp.extensions import db as _db
from webapp.models import AuditEntry, Reminder, Role, Trigger, User
from webapp.models.outbox import OutboxMessage
from webapp.outbox import delivery, one_click
from webapp.services import applications, reminders


def _unsubscribe(address: str) -> None:
    delivery.unsubscribe(one_click.token_for(address), "one-click")


def _rows(**where) -> list[OutboxMessage]:
    return _db.session.scalars(sa.select(OutboxMessage).filter_by(**where)
                               .order_by(OutboxMessage.to_addr)).all()


@pytest.fixture
def world(app, users):
    with app.app_context():
        campaign = factories.make_campaign(label="Grants", closes_in_days=10)
        template = factories.make_template(name="Decision")
        trigger = factories.make_trigger(campaign, template, to_status="accepted",
                                         to_candidate=True)
        reminder = Reminder(campaign=campaign, kind="before_closing", template=template,
                            offset_amount=3, offset_unit="days", to_candidate=True)
        _db.session.add(reminder)
        apps = [factories.make_application(campaign, factories.make_user(
            Role.CANDIDATE, email=f"cand{i}@example.org"), status_code=code)
            for i, code in enumerate(("submitted", "submitted", "draft", "draft"))]
        _db.session.commit()
        return dict(campaign=campaign.id, trigger=trigger.id, reminder=reminder.id,
                    template=template.id, apps=[a.id for a in apps],
                    accepted=factories.status("accepted").id)


def _trigger_form(world, **overrides) -> dict:
    data = {"template_id": str(world["template"]), "to_candidate": "y", "active": "y",
            "to_status_id": str(world["accepted"])}
    data.update(overrides)
    return data


def _reminder_form(world, **overrides) -> dict:
    data = {"template_id": str(world["template"]), "to_candidate": "y", "active": "y",
            "offset_amount": "3", "offset_unit": "days"}
    data.update(overrides)
    return data


def _checkbox(html: str) -> str:
    [tag] = re.findall(r'<input[^>]*name="transactional"[^>]*>', html)
    return tag


def test_the_defaults_and_the_form_checkbox(app, client, auth, world, htmx_headers):
    auth.login_as("manager")
    new_trigger = client.get(f"/campaigns/{world['campaign']}/emails/status_changed/new",
                             headers=htmx_headers).get_data(as_text=True)
    assert "checked" in _checkbox(new_trigger)
    new_reminder = client.get(f"/campaigns/{world['campaign']}/emails/reminders/new",
                              headers=htmx_headers).get_data(as_text=True)
    assert "checked" not in _checkbox(new_reminder)
    assert "sent even to people who unsubscribed" in new_reminder
    with app.app_context():
        assert _db.session.get(Trigger, world["trigger"]).transactional is True
        assert _db.session.get(Reminder, world["reminder"]).transactional is False
    tab = client.get(f"/campaigns/{world['campaign']}/emails").get_data(as_text=True)
    assert tab.count("Can be unsubscribed from") == 1  # the reminder's row only


def test_a_status_email_not_transactional_carries_unsubscribe_and_respects_it(
        app, client, auth, users, world, smtp, htmx_headers):
    auth.login_as("manager")
    response = client.post(f"/campaigns/{world['campaign']}/triggers/{world['trigger']}/edit",
                           headers=htmx_headers, data=_trigger_form(world))  # box unticked
    assert response.status_code == 200
    assert "Can be unsubscribed from" in response.get_data(as_text=True)
    with app.app_context():
        assert _db.session.get(Trigger, world["trigger"]).transactional is False
        entry = _db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == "trigger.updated")).one()
        assert entry.details["before"]["transactional"] is True
        assert entry.details["after"]["transactional"] is False
        _unsubscribe("cand1@example.org")
    history = client.get(f"/campaigns/{world['campaign']}/emails/history",
                         headers=htmx_headers).get_data(as_text=True)
    assert "Transactional: <del>yes</del> → <ins>no</ins>" in history
    with app.app_context():
        manager = _db.session.get(User, users["manager"])
        accepted = factories.status("accepted").id
        for application_id in world["apps"][:2]:
            applications.change_status(manager, application_id, accepted)
        sent, unsubscribed = _rows(event_type="status_changed")
        assert (sent.to_addr, sent.state) == ("cand0@example.org", "pending")
        assert (unsubscribed.to_addr, unsubscribed.state) == ("cand1@example.org", "suppressed")
        assert "unsubscribed" in unsubscribed.delivery_detail.lower()
    drain_once(app)
    [message] = smtp.messages
    assert "cand0@example.org" in message["To"]
    assert "/unsubscribe/" in message["List-Unsubscribe"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_reminder_marked_transactional_carries_none_and_reaches_an_unsubscribed_person(
        app, client, auth, world, smtp, clock, htmx_headers):
    auth.login_as("manager")
    clock.freeze()
    response = client.post(
        f"/campaigns/{world['campaign']}/reminders/{world['reminder']}/edit",
        headers=htmx_headers, data=_reminder_form(world, transactional="y"))
    assert response.status_code == 200
    with app.app_context():
        assert _db.session.get(Reminder, world["reminder"]).transactional is True
        entry = _db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == "reminder.updated")).one()
        assert (entry.details["before"]["transactional"],
                entry.details["after"]["transactional"]) == (False, True)
        _unsubscribe("cand2@example.org")
        clock.advance(days=7)
        assert [r.queued for r in reminders.run()] == [2]
        rows = _rows(event_type="reminder")
        assert [(r.to_addr, r.state) for r in rows] == [("cand2@example.org", "pending"),
                                                        ("cand3@example.org", "pending")]
    drain_once(app)
    assert sorted(parseaddr(m["To"])[1] for m in smtp.messages) == [
        "cand2@example.org", "cand3@example.org"]
    assert all(m["List-Unsubscribe"] is None and m["List-Unsubscribe-Post"] is None
               for m in smtp.messages)


def test_a_reminder_left_not_transactional_skips_the_unsubscribed_visibly(
        app, world, clock, smtp):
    clock.freeze()
    with app.app_context():
        _unsubscribe("cand2@example.org")
        clock.advance(days=7)
        reminders.run()
        rows = _rows(event_type="reminder")
        assert [(r.to_addr, r.state) for r in rows] == [("cand2@example.org", "suppressed"),
                                                        ("cand3@example.org", "pending")]
        assert all("List-Unsubscribe" in r.headers for r in rows)


@pytest.mark.parametrize("value", ["maybe", "2", "yes please"])
def test_a_value_that_is_not_a_checkbox_changes_nothing(
        app, client, auth, world, htmx_headers, value):
    auth.login_as("manager")
    for url, data in (
            (f"/campaigns/{world['campaign']}/triggers/{world['trigger']}/edit",
             _trigger_form(world, transactional=value, to_managers="y")),
            (f"/campaigns/{world['campaign']}/reminders/{world['reminder']}/edit",
             _reminder_form(world, transactional=value, to_managers="y"))):
        response = client.post(url, headers=htmx_headers, data=data)
        assert response.status_code == 422
        assert "Tick the box or leave it empty." in response.get_data(as_text=True)
    with app.app_context():
        trigger = _db.session.get(Trigger, world["trigger"])
        reminder = _db.session.get(Reminder, world["reminder"])
        assert (trigger.transactional, trigger.to_managers) == (True, False)
        assert (reminder.transactional, reminder.to_managers) == (False, False)
        assert _db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
            AuditEntry.object_type.in_(("trigger", "reminder")))) == 0


@pytest.mark.parametrize("role", ["evaluator", "candidate"])
def test_only_managers_change_the_flag(app, client, auth, world, htmx_headers, role):
    auth.login_as(role)
    trigger_url = f"/campaigns/{world['campaign']}/triggers/{world['trigger']}/edit"
    reminder_url = f"/campaigns/{world['campaign']}/reminders/{world['reminder']}/edit"
    assert client.post(trigger_url, headers=htmx_headers,
                       data=_trigger_form(world)).status_code == 403
    assert client.post(reminder_url, headers=htmx_headers,
                       data=_reminder_form(world, transactional="y")).status_code == 403
    with app.app_context():
        assert _db.session.get(Trigger, world["trigger"]).transactional is True
        assert _db.session.get(Reminder, world["reminder"]).transactional is False


def test_the_migration_keeps_what_each_sent_before(database_url, make_app, tmp_path):
    migrated = empty_database(database_url, tmp_path)
    migrator = Migrator(migrated)
    migrator.upgrade("c8e2f4a6b1d3")
    engine = sa.create_engine(migrated)
    with engine.begin() as conn:
        assert "transactional" not in {c["name"] for c in sa.inspect(conn).get_columns(
            "triggers")}
    engine.dispose()
    migrator.upgrade()
    app = make_app(SQLALCHEMY_DATABASE_URI=migrated)
    with app.app_context():
        campaign = factories.make_campaign(label="Old")
        template = factories.make_template(name="Old")
        trigger = factories.make_trigger(campaign, template)
        reminder = Reminder(campaign=campaign, kind="before_closing", template=template,
                            offset_amount=3, to_candidate=True)
        _db.session.add(reminder)
        _db.session.commit()
        trigger_id, reminder_id = trigger.id, reminder.id
        _db.session.remove()
        _db.engine.dispose()
    migrator.downgrade("c8e2f4a6b1d3")  # rows written before the column existed
    migrator.upgrade()
    with app.app_context():
        assert _db.session.get(Trigger, trigger_id).transactional is True
        assert _db.session.get(Reminder, reminder_id).transactional is False
        _db.session.remove()
        _db.engine.dispose()


def test_the_migration_keeps_the_reminders_deliveries(database_url, make_app, tmp_path):
    # Who was already reminded survives the new column, both ways.
    from webapp.models import ReminderDelivery

    migrated = empty_database(database_url, tmp_path)
    migrator = Migrator(migrated)
    migrator.upgrade()
    app = make_app(SQLALCHEMY_DATABASE_URI=migrated)
    with app.app_context():
        campaign = factories.make_campaign(label="Old")
        template = factories.make_template(name="Old")
        application = factories.make_application(campaign)
        reminder = Reminder(campaign=campaign, kind="before_closing", template=template,
                            offset_amount=3, to_candidate=True)
        _db.session.add(reminder)
        _db.session.flush()
        _db.session.add(ReminderDelivery(reminder_id=reminder.id, application_id=application.id,
                                         occurrence="x:1", created_at=core_clock.now()))
        _db.session.commit()
        _db.session.remove()
        _db.engine.dispose()
    for step in (lambda: migrator.downgrade("c8e2f4a6b1d3"), migrator.upgrade):
        step()
        with app.app_context():
            assert _db.session.scalars(sa.select(ReminderDelivery.occurrence)).all() == ["x:1"]
            _db.session.remove()
            _db.engine.dispose()
