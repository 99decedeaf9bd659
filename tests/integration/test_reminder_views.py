"""The Emails tab's reminders and held emails, and the delay / hold of status triggers, through
the views (htmx and plain requests)."""

import json
import re

import pytest
import sqlalchemy as sa

from tests import factories
from tests.outbox_support import clock_fixture  # noqa: F401
from webapp.extensions import db as _db
from webapp.models import AuditEntry, Campaign, EmailTemplate, Reminder, Role, Trigger
from webapp.models.outbox import OutboxMessage
from webapp.services import account_emails, applications
from webapp.services.applications import Selection

HX = {"HX-Request": "true"}


@pytest.fixture
def setup(app, users, clock):
    clock.freeze()
    with app.app_context():
        campaign = factories.make_campaign(label="Grants", closes_in_days=10)
        template = factories.make_template(name="Nudge")
        for i in range(3):
            factories.make_application(campaign, factories.make_user(
                Role.CANDIDATE, email=f"draft{i}@example.org"))
        _db.session.commit()
        return {"campaign": campaign.id, "template": template.id}


def _reminders(app):
    with app.app_context():
        return _db.session.execute(sa.select(Reminder.kind, Reminder.offset_amount,
                                             Reminder.status_id, Reminder.active)).all()


def test_creating_a_reminder_shows_its_next_run_and_count(app, client, auth, setup):
    auth.login_as("manager")
    url = f"/campaigns/{setup['campaign']}/emails/reminders/new"
    form = client.get(url, headers=HX)
    assert form.status_code == 200
    assert form.get_data(as_text=True).lstrip().startswith('<section id="section-reminders"')
    response = client.post(url, headers=HX, data={
        "kind": "before_closing", "template_id": setup["template"], "offset_amount": "3",
        "offset_unit": "days", "to_candidate": "y", "active": "y"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "triggerSaved" in json.loads(response.headers["HX-Trigger"])
    assert "3 days before the closing date" in html
    assert "3 emails" in html and "3 to candidates" in html
    row = html[html.index('class="next-run"'):]
    assert "Done" not in row[:200] and "Off" not in row[:200]
    assert _reminders(app) == [("before_closing", 3, None, True)]
    with app.app_context():
        entry = _db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.object_type == "reminder")).one()
        assert entry.action == "reminder.created"
        assert "Nudge 3 days before closing [candidate]" in entry.summary


@pytest.mark.parametrize("data,field,message", [
    ({"template_id": ""}, "template_id", "Choose an email template."),
    ({"offset_amount": "abc"}, "offset_amount", "Not a valid integer value."),
    ({"offset_amount": "0"}, "offset_amount", "Enter a number between 1 and 366."),
    ({"kind": "in_status", "status_id": ""}, "status_id", "Choose the status."),
    ({"kind": "in_status", "status_id": "2", "repeat_every_days": "3", "max_times": "1"},
     "max_times", "Enter a number between 2 and 20."),
    ({"to_candidate": "", "extra_addresses": ""}, None, "Choose at least one recipient."),
    ({"extra_addresses": "nope"}, "extra_addresses", "Not a valid email address: nope"),
])
def test_bad_reminder_input_is_refused_next_to_the_field(app, client, auth, setup, data, field,
                                                        message):
    auth.login_as("manager")
    values = {"kind": "before_closing", "template_id": setup["template"], "offset_amount": "3",
              "offset_unit": "days", "to_candidate": "y", "active": "y"}
    values.update(data)
    values = {k: v for k, v in values.items() if v != ""}
    response = client.post(f"/campaigns/{setup['campaign']}/emails/reminders/new", headers=HX,
                           data=values)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    if field:
        assert f'id="reminder-{field}-errors"' in html
    assert _reminders(app) == []


def test_a_reminder_without_recipients_is_refused_inside_the_recipients_fieldset(
        app, client, auth, setup):
    auth.login_as("manager")
    response = client.post(f"/campaigns/{setup['campaign']}/emails/reminders/new", headers=HX,
                           data={"kind": "before_closing", "template_id": setup["template"],
                                 "offset_amount": "3", "offset_unit": "days", "active": "y"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    fieldset = html[html.index('<fieldset class="recipients'):]
    fieldset = fieldset[:fieldset.index("</fieldset>")]
    assert 'aria-describedby="recipients-reminder-errors"' in fieldset
    assert "Choose at least one recipient." in fieldset
    assert html.count("Choose at least one recipient.") == 1
    assert _reminders(app) == []


def test_plain_requests_redirect_and_edit_toggle_delete_are_audited(app, client, auth, setup):
    auth.login_as("manager")
    campaign = setup["campaign"]
    response = client.post(f"/campaigns/{campaign}/emails/reminders/new", data={
        "kind": "in_status", "template_id": setup["template"], "offset_amount": "5",
        "status_id": factories_status_id(app, "submitted"), "to_evaluators": "y",
        "active": "y"})
    assert response.status_code == 303
    with app.app_context():
        reminder_id = _db.session.scalar(sa.select(Reminder.id))
    edit = client.post(f"/campaigns/{campaign}/reminders/{reminder_id}/edit", headers=HX, data={
        "kind": "before_closing", "template_id": setup["template"], "offset_amount": "7",
        "status_id": factories_status_id(app, "submitted"), "to_evaluators": "y",
        "repeat_every_days": "2", "max_times": "3", "active": "y"})
    assert edit.status_code == 200
    assert "7 days in the status Submitted" in edit.get_data(as_text=True)
    assert "then every 2 days, at most 3 times" in edit.get_data(as_text=True)
    client.post(f"/campaigns/{campaign}/reminders/{reminder_id}/toggle", headers=HX)
    assert _reminders(app)[0][3] is False
    client.post(f"/campaigns/{campaign}/reminders/{reminder_id}/delete", headers=HX)
    assert _reminders(app) == []
    with app.app_context():
        actions = _db.session.scalars(sa.select(AuditEntry.action).where(
            AuditEntry.object_type == "reminder").order_by(AuditEntry.id))
        assert list(actions) == ["reminder.created", "reminder.updated",
                                 "reminder.deactivated", "reminder.deleted"]
    history = client.get(f"/campaigns/{campaign}/emails/history").get_data(as_text=True)
    assert "7 days in the status Submitted" in history


def factories_status_id(app, code: str) -> int:
    with app.app_context():
        return factories.status(code).id


def test_a_status_trigger_saves_its_delay_and_hold(app, client, auth, setup):
    auth.login_as("manager")
    url = f"/campaigns/{setup['campaign']}/emails/status_changed/new"
    base = {"template_id": setup["template"], "to_status_id": factories_status_id(app, "accepted"),
            "to_candidate": "y", "active": "y"}
    both = client.post(url, headers=HX, data={**base, "delay_hours": "2",
                                             "hold_for_review": "y"})
    assert both.status_code == 422
    assert "choose a delay or holding, not both" in both.get_data(as_text=True)
    negative = client.post(url, headers=HX, data={**base, "delay_hours": "-1"})
    assert negative.status_code == 422
    assert "Enter a delay between 0 and 720 hours." in negative.get_data(as_text=True)
    saved = client.post(url, headers=HX, data={**base, "delay_hours": "2"})
    assert saved.status_code == 200 and "Sent after 2 h" in saved.get_data(as_text=True)
    held = client.post(url, headers=HX,
                       data={**base, "to_status_id": factories_status_id(app, "rejected"),
                             "hold_for_review": "y"})
    assert "Held for review" in held.get_data(as_text=True)
    with app.app_context():
        rows = _db.session.execute(sa.select(Trigger.delay_minutes, Trigger.hold_for_review)
                                   .where(Trigger.event == "status_changed")
                                   .order_by(Trigger.id)).all()
    assert rows == [(120, False), (0, True)]


@pytest.fixture
def held(app, setup):
    with app.app_context():
        campaign = _db.session.get(Campaign, setup["campaign"])
        template = _db.session.get(EmailTemplate, setup["template"])
        factories.make_trigger(campaign, template, hold_for_review=True)
        manager = factories.make_user(Role.MANAGER, email="boss@example.org")
        for i in range(3):
            factories.make_application(campaign, factories.make_user(
                Role.CANDIDATE, email=f"sub{i}@example.org"), status_code="submitted")
        _db.session.commit()
        with app.test_request_context():
            applications.bulk_change_status(manager, Selection(campaign.id, all_matching=True),
                                            factories.status("accepted").id)
    return setup


def _states(app):
    with app.app_context():
        return sorted(_db.session.scalars(sa.select(OutboxMessage.state)))


def _held_url(app, held, action: str) -> str:
    with app.app_context():
        trigger = _db.session.scalars(sa.select(OutboxMessage.trigger_id)).first()
        accepted = factories.status("accepted").id
    return f"/campaigns/{held['campaign']}/held/{trigger}/{accepted}/{action}"


def _version(page: str) -> str:
    return re.search(r'name="version" value="([^"]+)"', page).group(1)


def test_the_emails_tab_shows_held_emails_and_releases_the_confirmed_count(
        app, client, auth, held):
    auth.login_as("manager")
    campaign = held["campaign"]
    page = client.get(f"/campaigns/{campaign}/emails").get_data(as_text=True)
    assert "Emails held for review" in page
    assert "3 emails" in page and "to 3 recipients" in page and "Release all 3 emails" in page
    assert "Sample: About Grants, to sub0@example.org" in page
    url = _held_url(app, held, "release")
    stale = client.post(url, headers=HX, data={"version": "stale"})
    assert stale.status_code == 422
    assert "there are now 3" in stale.get_data(as_text=True)
    assert _states(app) == ["held"] * 3
    version = _version(page)
    past = client.post(url, headers=HX, data={"version": version,
                                              "not_before": "2020-01-01T10:00"})
    assert past.status_code == 422 and "in the future" in past.get_data(as_text=True)
    done = client.post(url, headers=HX, data={"version": version})
    assert done.status_code == 200
    assert set(json.loads(done.headers["HX-Trigger"])) >= {"triggerSaved", "outboxChanged"}
    assert "No email is held." in done.get_data(as_text=True)
    assert _states(app) == ["pending"] * 3


def test_cancelling_a_held_group_without_javascript(app, client, auth, held):
    auth.login_as("admin")
    page = client.get(f"/campaigns/{held['campaign']}/emails").get_data(as_text=True)
    response = client.post(_held_url(app, held, "cancel"), data={"version": _version(page)})
    assert response.status_code == 303
    assert _states(app) == ["cancelled"] * 3
    outbox = client.get("/outbox/?state=cancelled").get_data(as_text=True)
    assert "sub0@example.org" in outbox


def test_the_outbox_shows_held_groups_with_a_sample(app, client, auth, held):
    auth.login_as("admin")
    page = client.get("/outbox/").get_data(as_text=True)
    section = page[page.index('id="outbox-held"'):]
    assert "Grants" in section and "Nudge" in section and "3 emails" in section
    assert "About Grants · sub0@example.org" in section
    assert f"/campaigns/{held['campaign']}/emails#section-held" in section
    listed = client.get("/outbox/?state=held").get_data(as_text=True)
    assert listed.count("<td><span class=\"badge state-held\">Held</span></td>") == 3


def test_a_reminder_to_nobody_warns_and_the_tab_says_it_follows_the_closing_date(
        app, client, auth, setup):
    auth.login_as("manager")
    response = client.post(f"/campaigns/{setup['campaign']}/emails/reminders/new", headers=HX,
                           data={"kind": "before_closing", "template_id": setup["template"],
                                 "offset_amount": "3", "offset_unit": "days",
                                 "to_managers": "y", "active": "y"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "The campaign has no active manager today" in html
    page = client.get(f"/campaigns/{setup['campaign']}/emails").get_data(as_text=True)
    row = page[page.index('id="reminder-'):]
    assert "The campaign has no active manager today" in row
    assert "If the closing date changes, the drafts are reminded again before the new date." \
        in row


def _statements_of_the_emails_tab(app, client, campaign_id) -> int:
    from sqlalchemy import event

    with app.app_context():
        engine = _db.engine
    count = 0

    def counted(*_args):
        nonlocal count
        count += 1

    event.listen(engine, "before_cursor_execute", counted)
    try:
        assert client.get(f"/campaigns/{campaign_id}/emails").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", counted)
    return count


def test_the_emails_tab_does_not_read_every_draft_one_chunk_at_a_time(app, client, auth, setup):
    auth.login_as("manager")
    campaign = setup["campaign"]
    with app.app_context():
        c = _db.session.get(Campaign, campaign)
        t = _db.session.get(EmailTemplate, setup["template"])
        for offset in (3, 1):
            _db.session.add(Reminder(campaign=c, kind="before_closing", template=t,
                                     offset_amount=offset, to_candidate=True))
        _db.session.add(Reminder(campaign=c, kind="in_status", template=t, offset_amount=2,
                                 status_id=factories.status("draft").id, to_candidate=True))
        _db.session.commit()
    client.get(f"/campaigns/{campaign}/emails")  # warm: the first request loads more
    few = _statements_of_the_emails_tab(app, client, campaign)
    with app.app_context():
        c = _db.session.get(Campaign, campaign)
        factories.make_applications(c, 1100, email_prefix="more")
        _db.session.commit()
    many = _statements_of_the_emails_tab(app, client, campaign)
    assert many == few
    page = client.get(f"/campaigns/{campaign}/emails").get_data(as_text=True)
    assert page.count("1103 emails") == 2


def test_the_extra_statuses_are_checkboxes_a_phone_can_tick(app, client, auth, setup):
    auth.login_as("manager")
    campaign = setup["campaign"]
    form = client.get(f"/campaigns/{campaign}/emails/reminders/new", headers=HX)
    html = form.get_data(as_text=True)
    assert "<select multiple" not in html and "Ctrl" not in html
    submitted, review = (factories_status_id(app, "submitted"),
                         factories_status_id(app, "under_review"))
    assert f'name="also_status_ids" type="checkbox" value="{submitted}"' in html
    response = client.post(f"/campaigns/{campaign}/emails/reminders/new", data={
        "kind": "before_closing", "template_id": setup["template"], "offset_amount": "3",
        "offset_unit": "days", "also_status_ids": [str(submitted), str(review)],
        "to_candidate": "y", "active": "y"})
    assert response.status_code == 303
    with app.app_context():
        assert _db.session.scalar(sa.select(Reminder.also_status_ids)) == sorted(
            [submitted, review])


def test_releasing_later_checks_the_date_before_asking_and_keeps_it(app, client, auth, held):
    auth.login_as("manager")
    campaign = held["campaign"]
    page = client.get(f"/campaigns/{campaign}/emails").get_data(as_text=True)
    later_form = page[page.index('class="release-later"') - 200:]
    later_form = later_form[:later_form.index("</form>")]
    assert "hx-confirm" not in later_form  # the server checks the date, then asks
    url, version = _held_url(app, held, "release"), _version(page)
    past = client.post(url, headers=HX, data={"version": version,
                                              "not_before": "2020-01-01T10:00"})
    assert past.status_code == 422
    html = past.get_data(as_text=True)
    assert "in the future" in html and 'value="2020-01-01T10:00"' in html
    assert _states(app) == ["held"] * 3
    asked = client.post(url, headers=HX, data={"version": version,
                                               "not_before": "2099-01-01T10:00"})
    assert asked.status_code == 200
    html = asked.get_data(as_text=True)
    assert "Release 3 emails at the chosen moment?" in html and "1 Jan 2099" in html
    assert 'value="2099-01-01T10:00"' in html and 'name="confirmed"' in html
    assert _states(app) == ["held"] * 3  # nothing released before the answer
    done = client.post(url, headers=HX, data={"version": version, "confirmed": "1",
                                              "not_before": "2099-01-01T10:00"})
    assert done.status_code == 200 and "No email is held." in done.get_data(as_text=True)
    assert _states(app) == ["pending"] * 3


def test_a_held_groups_history_line_reads_in_the_readers_language(app, client, auth, held):
    auth.login_as("manager")
    client.post("/language", data={"locale": "fr"})
    campaign = held["campaign"]
    page = client.get(f"/campaigns/{campaign}/emails").get_data(as_text=True)
    client.post(_held_url(app, held, "release"), headers=HX, data={
        "version": _version(page), "confirmed": "1", "not_before": "2099-01-01T10:00"})
    history = client.get(f"/campaigns/{campaign}/emails/history").get_data(as_text=True)
    assert "3 e-mails · Nudge → Accepté · à partir du 1 janv. 2099" in history
    assert "Released" not in history and "held emails of" not in history


@pytest.mark.parametrize("kind", ["reminders", "triggers"])
def test_a_platform_template_named_by_a_crafted_request_is_refused(app, client, auth, setup,
                                                                    kind):
    # The form offers only the managers' templates; the server checks it too, for both kinds.
    with app.app_context():
        system = account_emails.ensure_system_templates()["password_reset"].id
        _db.session.commit()
    auth.login_as("manager")
    data = {"template_id": system, "to_candidate": "y", "active": "y"}
    if kind == "reminders":
        data.update(kind="before_closing", offset_amount="3", offset_unit="days")
    path = "reminders" if kind == "reminders" else "submitted"
    response = client.post(f"/campaigns/{setup['campaign']}/emails/{path}/new", headers=HX,
                           data=data)
    assert response.status_code == 422
    assert "Choose an email template." in response.get_data(as_text=True)
    with app.app_context():
        assert _db.session.scalar(sa.select(sa.func.count()).select_from(Reminder)) == 0
        assert _db.session.scalar(sa.select(sa.func.count()).select_from(Trigger)) == 0
