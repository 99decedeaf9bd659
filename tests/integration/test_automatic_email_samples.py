"""Preview an automatic email and send it to oneself as a test, whatever its kind: a trigger's
row and a reminder's offer both, through the same path (same page, same outbox row, same
answer, same permissions)."""

import pytest
import sqlalchemy as sa

from tests import factories
from webapp.extensions import db as _db
from webapp.models import OutboxPriority, Reminder
from webapp.models.outbox import OutboxMessage

HX = {"HX-Request": "true"}


@pytest.fixture
def world(app, users):
    with app.app_context():
        campaign = factories.make_campaign(label="Bourses 2027")
        template = factories.make_template(
            name="Relance", versions={
                "fr": ("Relance : {{ status_label }}",
                       "<p>{{ campaign_label }} : {{ status_label }}</p>"),
                "en": ("Reminder: {{ status_label }}",
                       "<p>{{ campaign_label }}: {{ status_label }}</p>")})
        reminder = Reminder(campaign=campaign, kind="in_status", template=template,
                            offset_amount=7, offset_unit="days",
                            status=factories.status("accepted"), to_candidate=True)
        trigger = factories.make_trigger(campaign, template, to_status="accepted")
        held = factories.make_trigger(campaign, template, to_status="rejected",
                                      hold_for_review=True)
        other = factories.make_campaign(label="Other")
        _db.session.add(reminder)
        _db.session.commit()
        return {"campaign": campaign.id, "reminders": reminder.id, "triggers": trigger.id,
                "held": held.id, "other": other.id}


# Both kinds: the URL's segment, the section a test's answer redraws.
KINDS = pytest.mark.parametrize("kind,section", [("triggers", "section-status_changed"),
                                                  ("reminders", "section-reminders")])


def _tests(app):
    with app.app_context():
        return _db.session.scalars(sa.select(OutboxMessage).where(
            OutboxMessage.is_test.is_(True))).all()


@KINDS
def test_each_row_offers_its_preview_and_a_test(client, auth, world, kind, section):
    auth.login_as("manager")
    tab = client.get(f"/campaigns/{world['campaign']}/emails").get_data(as_text=True)
    row = tab[tab.index(f'id="{kind[:-1]}-{world[kind]}"'):]
    row = row[:row.index("</tr>")]
    base = f"/campaigns/{world['campaign']}/{kind}/{world[kind]}"
    assert f'href="{base}/preview"' in row
    assert f'hx-post="{base}/test"' in row and "Send me a test" in row


@KINDS
def test_the_preview_in_the_readers_language_with_its_status(client, auth, world, kind,
                                                             section):
    auth.login_as("manager")
    client.post("/language", data={"locale": "fr"})
    page = client.get(f"/campaigns/{world['campaign']}/{kind}/{world[kind]}/preview")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Relance : Accepté" in text  # the email's own status, in French
    assert "Bourses 2027 : Accepté" in text
    assert f'action="/campaigns/{world["campaign"]}/{kind}/{world[kind]}/test"' in text


def test_a_held_triggers_preview_says_its_emails_wait_for_a_release(client, auth, world):
    auth.login_as("manager")
    text = client.get(f"/campaigns/{world['campaign']}/triggers/{world['held']}/preview") \
        .get_data(as_text=True)
    assert "Held for review" in text
    assert "wait in the Emails tab until a manager releases or cancels them" in text
    for kind in ("triggers", "reminders"):  # not held
        other = client.get(f"/campaigns/{world['campaign']}/{kind}/{world[kind]}/preview")
        assert "Held for review" not in other.get_data(as_text=True)


@KINDS
def test_the_test_goes_to_the_signed_in_manager_through_the_outbox(
        app, client, auth, world, kind, section):
    auth.login_as("manager")
    client.post("/language", data={"locale": "fr"})
    url = f"/campaigns/{world['campaign']}/{kind}/{world[kind]}/test"
    response = client.post(url, headers=HX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith(f'<section id="{section}"')
    assert "manager@example.org" in html  # the message, out of band
    [test] = _tests(app)
    assert test.to_addr == "manager@example.org"
    assert test.subject == "[Essai] Relance : Accepté"
    assert test.priority == OutboxPriority.URGENT and test.event_type == "test"

    # Without JavaScript: back to the tab.
    plain = client.post(url)
    assert plain.status_code == 303
    assert f"/campaigns/{world['campaign']}/emails" in plain.headers["Location"]
    assert len(_tests(app)) == 2


@KINDS
def test_an_email_whose_template_cannot_render_is_refused_with_the_reason(
        app, client, auth, world, kind, section):
    with app.app_context():
        template = _db.session.get(Reminder, world["reminders"]).template
        for version in template.versions:
            version.subject = "{{ campaign_label"
        _db.session.commit()
    auth.login_as("manager")
    response = client.post(f"/campaigns/{world['campaign']}/{kind}/{world[kind]}/test",
                           headers=HX)
    assert response.status_code == 422
    assert "Syntax error on line 1" in response.get_data(as_text=True)
    assert _tests(app) == []


@KINDS
@pytest.mark.parametrize("method,action", [("get", "preview"), ("post", "test")])
def test_who_may_preview_and_test(app, client, auth, world, kind, section, method, action):
    mine = f"/campaigns/{world['campaign']}/{kind}/{world[kind]}/{action}"
    theirs = f"/campaigns/{world['other']}/{kind}/{world[kind]}/{action}"
    auth.login_as("manager")
    assert getattr(client, method)(theirs, headers=HX).status_code == 404
    for role in ("evaluator", "candidate"):
        auth.logout()
        auth.login_as(role)
        assert getattr(client, method)(mine, headers=HX).status_code == 403
    auth.logout()
    assert getattr(client, method)(mine).status_code in (302, 303)  # to sign in
    assert _tests(app) == []
