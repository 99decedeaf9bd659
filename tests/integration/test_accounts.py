"""Accounts by email: confirmation, password reset and invitation links, received from the real
SMTP server through the outbox and followed end to end."""

import re
from html import unescape

import pytest
import sqlalchemy as sa

from jobs.drain import drain_once
from tests import factories
from tests.account_support import received_link, sign_up
from tests.outbox_support import clock_fixture  # noqa: F401
from webapp.extensions import db
from webapp.models import AuditEntry, EmailTemplate, User
from webapp.models.outbox import OutboxMessage

SIGNUP = {"first_name": "Ana", "last_name": "Lopez", "email": "ana@example.org",
          "password": "a-strong-pass-1", "confirm": "a-strong-pass-1"}
NEW_PASSWORD = "violet kettle orbit 7"
FORM = {"title": "My project", "summary": "Summary", "motivation": "Why", "confirmed": "y"}


def page(response) -> str:
    return unescape(response.get_data(as_text=True))


def _user(app, email):
    with app.app_context():
        return db.session.scalar(sa.select(User).where(User.email == email))


# Confirmation ---------------------------------------------------------------------------


def test_sign_up_sends_a_confirmation_link_that_confirms_once(app, client, smtp):
    response = client.post("/auth/signup", data=SIGNUP, follow_redirects=True)
    assert "we sent a link to ana@example.org" in page(response)
    signed_in = client.post("/auth/login", data={"email": SIGNUP["email"],
                                                 "password": SIGNUP["password"]},
                            follow_redirects=True)
    assert "Send the link again" in page(signed_in)
    assert not _user(app, "ana@example.org").email_confirmed

    link, message = received_link(app, smtp, "ana@example.org", "/auth/confirm/")
    assert message["Subject"] == "Confirm your email address · Missive"
    assert message["Auto-Submitted"] == "auto-generated"
    text = message.message.get_body(("plain",)).get_content()
    assert "valid for 2 days" in text
    # The address is not proved yet: the email carries no text the sign-up chose.
    assert "Ana" not in message.data.decode() and "Lopez" not in message.data.decode()

    followed = client.get(link, follow_redirects=True)
    assert "Your email address is confirmed." in page(followed)
    assert "Send the link again" not in page(followed)
    assert _user(app, "ana@example.org").email_confirmed

    again = client.get(link)
    assert again.status_code == 303  # nothing to do, and nothing wrong
    assert "This address is already confirmed." in page(client.get(again.location,
                                                                   follow_redirects=True))
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEntry.action)).all()
        assert "account.email_confirmed" in actions


def test_the_confirmation_goes_through_the_outbox_like_every_email(app, client, smtp):
    sign_up(client, SIGNUP)
    with app.app_context():
        row = db.session.scalar(sa.select(OutboxMessage))
        template = db.session.get(EmailTemplate, row.template_id)
        assert (row.state, row.event_type, row.to_addr) == (
            "pending", "account_confirmation", "ana@example.org")
        assert template.system_key == "account_confirmation"
        assert row.recipient_user_id == _user(app, "ana@example.org").id
    drain_once(app)
    with app.app_context():
        row = db.session.scalar(sa.select(OutboxMessage))
        assert row.state == "sent" and len(row.attempt_log) == 1


def test_the_email_is_in_the_person_s_language(app, client, smtp):
    sign_up(client, SIGNUP, headers={"Accept-Language": "fr"})
    _link, message = received_link(app, smtp, "ana@example.org", "/auth/confirm/")
    assert message["Subject"] == "Confirmez votre adresse e-mail · Missive"
    text = message.message.get_body(("plain",)).get_content()
    assert "Bonjour," in text and "valable 2 jours" in text


def test_an_unconfirmed_candidate_keeps_a_draft_but_cannot_submit(app, client, smtp):
    with app.app_context():
        campaign_id = factories.make_campaign().id
        db.session.commit()
    sign_up(client, SIGNUP)
    started = client.post(f"/apply/{campaign_id}/start")
    target = started.headers["Location"]
    refused = client.post(target, data={**FORM, "action": "submit"})
    assert refused.status_code == 422
    assert "Confirm your email address before submitting" in page(refused)
    assert "Send the link again" in page(refused)
    with app.app_context():
        from webapp.models import Application

        application = db.session.scalar(sa.select(Application))
        assert application.status.code == "draft"
        assert application.title == "My project"  # the answers are kept

    link, _message = received_link(app, smtp, "ana@example.org", "/auth/confirm/")
    client.get(link)
    assert client.post(target, data={**FORM, "action": "submit"}).status_code == 200
    assert client.post(target + "/submit").status_code == 303


def test_the_service_refuses_an_unconfirmed_submission_whatever_the_view(app):
    from webapp.core.errors import ValidationFailed
    from webapp.services import applications

    with app.app_context():
        candidate = factories.make_user(email="new@example.org", confirmed=False)
        application = factories.make_application(factories.make_campaign(), candidate)
        db.session.commit()
        with pytest.raises(ValidationFailed, match="Confirmez votre adresse"):
            applications.submit(candidate, application.id, applications.Answers(
                title="T", summary="S", motivation="M", confirmed=True))
        db.session.rollback()
        assert db.session.get(type(application), application.id).status.code == "draft"
        assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0


def test_send_the_link_again_is_rate_limited(app, client, smtp, clock):
    sign_up(client, SIGNUP)
    first, _m = received_link(app, smtp, "ana@example.org", "/auth/confirm/")
    too_soon = client.post("/auth/confirm/resend", data={"next": "/my/applications"},
                           follow_redirects=True)
    assert "A link was sent a moment ago" in page(too_soon)
    assert drain_once(app)["sent"] == 0
    clock.advance(minutes=3)
    resent = client.post("/auth/confirm/resend", data={"next": "/my/applications"})
    assert resent.headers["Location"] == "/my/applications"
    second, _m = received_link(app, smtp, "ana@example.org", "/auth/confirm/")
    assert second != first
    assert client.get(second, follow_redirects=True).status_code == 200
    assert _user(app, "ana@example.org").email_confirmed
    assert client.get(first).status_code == 303  # already confirmed through the second


def test_confirmation_emails_are_capped_per_day(make_app, smtp, clock):
    app = make_app(CONFIRMATION_MAX_PER_DAY=3)
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    sign_up(client, SIGNUP)
    for _ in range(2):
        clock.advance(minutes=3)
        client.post("/auth/confirm/resend")
    clock.advance(minutes=3)
    refused = client.post("/auth/confirm/resend", follow_redirects=True)
    assert "Several links were sent in the last 24 hours" in page(refused)
    assert drain_once(app)["sent"] == 3
    clock.advance(days=1)
    client.post("/auth/login", data={"email": SIGNUP["email"], "password": SIGNUP["password"]})
    client.post("/auth/confirm/resend")
    assert drain_once(app)["sent"] == 1


def test_an_expired_confirmation_link_is_refused_with_a_message(app, client, smtp, clock):
    sign_up(client, SIGNUP)
    link, _m = received_link(app, smtp, "ana@example.org", "/auth/confirm/")
    clock.advance(hours=49)
    response = client.get(link)
    assert response.status_code == 400
    assert "This link has expired." in page(response)
    assert not _user(app, "ana@example.org").email_confirmed


@pytest.mark.parametrize("tamper", [
    lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
    lambda token: token[:20],
    lambda token: "x" + token,
    lambda token: "not-a-token",
])
def test_a_tampered_confirmation_link_is_refused_with_a_message(app, client, smtp, tamper):
    sign_up(client, SIGNUP)
    link, _m = received_link(app, smtp, "ana@example.org", "/auth/confirm/")
    token = link.rsplit("/", 1)[1]
    response = client.get(f"/auth/confirm/{tamper(token)}")
    assert response.status_code == 400
    assert "This link is not valid" in page(response)
    assert not _user(app, "ana@example.org").email_confirmed


def test_a_confirmation_token_cannot_reset_a_password(app, client, smtp):
    sign_up(client, SIGNUP)
    link, _m = received_link(app, smtp, "ana@example.org", "/auth/confirm/")
    response = client.get(link.replace("/auth/confirm/", "/auth/reset/"))
    assert response.status_code == 400


# Forgotten password ---------------------------------------------------------------------


def test_forgot_password_answers_the_same_for_unknown_addresses(app, client, users, smtp):
    known = client.post("/auth/forgot", data={"email": "manager@example.org"},
                        follow_redirects=True)
    unknown = client.post("/auth/forgot", data={"email": "nobody@example.org"},
                          follow_redirects=True)
    def strip(response, email):  # the address typed, and the CSRF token's timestamp
        return re.sub(r"[\w.-]+\.[\w-]+\.[\w-]{20,}", "TOKEN", page(response)) \
            .replace(email, "ADDRESS")

    assert strip(known, "manager@example.org") == strip(unknown, "nobody@example.org")
    assert "a link to choose a new password is on its way" in page(known)
    assert drain_once(app)["sent"] == 1
    assert [m.rcpt_tos for m in smtp.messages] == [["manager@example.org"]]


def test_the_sign_in_page_offers_forgot_password_in_french(client):
    response = client.get("/auth/login", headers={"Accept-Language": "fr"})
    assert '<a href="/auth/forgot">Mot de passe oublié ?</a>' in page(response)


def test_account_emails_are_on_the_outbox_page(app, client, auth, smtp):
    client.post("/auth/forgot", data={"email": "candidate@example.org"})
    drain_once(app)
    auth.login_as("admin")
    listing = page(client.get("/outbox/?q=candidate@example.org"))
    assert "Choose a new password · Missive" in listing


def test_a_reset_link_sets_a_new_password_once_and_ends_every_other_session(
        app, client, users, smtp, make_app):
    other = app.test_client()
    other.post("/auth/login", data={"email": "manager@example.org",
                                    "password": factories.PASSWORD})
    assert other.get("/campaigns/").status_code == 200

    client.post("/auth/forgot", data={"email": "manager@example.org"})
    link, message = received_link(app, smtp, "manager@example.org", "/auth/reset/")
    assert message["Subject"] == "Choose a new password · Missive"
    assert "valid for 60 minutes" in message.message.get_body(("plain",)).get_content()
    form = client.get(link)
    assert form.status_code == 200 and "Choose a new password" in page(form)
    assert form.headers["Referrer-Policy"] == "no-referrer"

    weak = client.post(link, data={"password": "password123", "confirm": "password123"})
    assert weak.status_code == 422
    assert "among the first that attackers try" in page(weak)

    done = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 303
    assert client.get("/campaigns/").status_code == 200  # this browser is signed in
    assert other.get("/campaigns/").status_code == 302  # the other session ended
    assert _user(app, "manager@example.org").check_password(NEW_PASSWORD)

    reused = client.get(link)
    assert reused.status_code == 400
    assert "This link was already used" in page(reused)
    again = app.test_client().post(link, data={"password": "another fine phrase 8",
                                               "confirm": "another fine phrase 8"})
    assert again.status_code == 400
    assert _user(app, "manager@example.org").check_password(NEW_PASSWORD)


def test_a_reset_link_dies_when_the_password_changes_another_way(app, client, users, smtp):
    client.post("/auth/forgot", data={"email": "manager@example.org"})
    first, _m = received_link(app, smtp, "manager@example.org", "/auth/reset/")
    with app.app_context():
        from webapp.core import clock

        user = db.session.scalar(sa.select(User).where(User.email == "manager@example.org"))
        user.password_reset_sent_at = clock.now().replace(year=2000)
        db.session.commit()
    client.post("/auth/forgot", data={"email": "manager@example.org"})
    second, _m = received_link(app, smtp, "manager@example.org", "/auth/reset/")
    assert client.post(second, data={"password": NEW_PASSWORD,
                                     "confirm": NEW_PASSWORD}).status_code == 303
    response = client.get(first)
    assert response.status_code == 400 and "already used" in page(response)


def test_a_reset_link_expires_within_an_hour(app, client, users, smtp, clock):
    client.post("/auth/forgot", data={"email": "manager@example.org"})
    link, _m = received_link(app, smtp, "manager@example.org", "/auth/reset/")
    clock.advance(minutes=61)
    response = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 400
    assert "This link has expired." in page(response)
    assert "Ask for a new link" in page(response)
    assert not _user(app, "manager@example.org").check_password(NEW_PASSWORD)


def test_reset_emails_to_one_account_are_spaced(app, client, users, smtp):
    for _ in range(5):
        client.post("/auth/forgot", data={"email": "manager@example.org"})
    assert drain_once(app)["sent"] == 1


# Invitations and the command line ------------------------------------------------------


def test_create_user_without_password_sends_an_invitation(app, smtp):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "eva@example.org", "--role", "evaluator",
                                 "--locale", "fr", "--first-name", "Eva"])
    assert result.exit_code == 0, result.output
    assert "invitation" in result.output
    link, message = received_link(app, smtp, "eva@example.org", "/auth/invitation/")
    assert message["Subject"] == "Votre compte sur Missive"
    client = app.test_client()
    assert "Choisir votre mot de passe" in page(client.get(link,
                                                           headers={"Accept-Language": "fr"}))
    done = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 303
    user = _user(app, "eva@example.org")
    assert user.email_confirmed and user.check_password(NEW_PASSWORD)
    assert client.get(link).status_code == 400


def test_create_user_with_a_password_and_the_demo_start_confirmed(app, smtp):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "boss@example.org", "--role", "admin",
                                 "--password", "long-enough-1"])
    assert result.exit_code == 0, result.output
    assert _user(app, "boss@example.org").email_confirmed
    runner.invoke(args=["seed-demo"])
    assert _user(app, "camille@example.org").email_confirmed
    assert drain_once(app)["sent"] == 0


# System templates ----------------------------------------------------------------------


def test_system_templates_are_listed_apart_edited_previewed_and_never_deleted(
        app, client, auth, smtp):
    from webapp.services import account_emails

    with app.app_context():
        account_emails.ensure_system_templates()  # as the migration does
        db.session.commit()
    auth.login_as("admin")  # account emails carry sign-in links: admins only
    listing = page(client.get("/email-templates/"))
    system_part = listing.split("System emails", 1)[1]
    assert "Account: reset the password" in system_part
    assert "Account: reset the password" not in listing.split("System emails", 1)[0]
    with app.app_context():
        reset = db.session.scalar(sa.select(EmailTemplate).where(
            EmailTemplate.system_key == "password_reset"))
        reset_id = reset.id
        campaign = factories.make_campaign()
        db.session.commit()
        campaign_id = campaign.id
    editor = page(client.get(f"/email-templates/{reset_id}"))
    assert "{{ action_url }}" in editor and "{{ candidate_name }}" not in editor

    form = {"template_id": str(reset_id), "name": "Account: reset the password",
            "default_locale": "fr", "subject_fr": "Nouveau mot de passe",
            "body_html_fr": '<p>Cliquez : <a href="{{ action_url }}">ici</a> '
                            "({{ link_expiry }})</p>",
            "subject_en": "New password",
            "body_html_en": '<p>Click <a href="{{ action_url }}">here</a></p>',
            "preview_locale": "fr"}
    preview = client.post("/email-templates/preview", data=form)
    assert "https://missive.example.org/auth/confirm/" in page(preview)
    bad = client.post(f"/email-templates/{reset_id}",
                      data={**form, "body_html_fr": "<p>{{ candidate_name }}</p>"})
    assert bad.status_code == 422 and "Unknown placeholder: candidate_name" in page(bad)
    assert client.post(f"/email-templates/{reset_id}", data=form).status_code == 303

    refused = client.post(f"/email-templates/{reset_id}/delete", follow_redirects=True)
    assert "it can be edited, not deleted" in page(refused)
    trigger_form = client.get(f"/campaigns/{campaign_id}/emails")
    assert "Account: reset the password" not in page(trigger_form)

    client.post("/auth/forgot", data={"email": "candidate@example.org"})
    drain_once(app)
    [message] = smtp.to("candidate@example.org")
    assert message["Subject"] == "New password"  # the candidate reads English
    assert "http://missive.test/auth/reset/" in message.message.get_body(("html",)) \
        .get_content()


def test_the_migration_adds_the_system_templates_and_keeps_old_accounts_working(
        database_url, tmp_path):
    from tests.migration_support import Migrator, empty_database
    from webapp.services import account_emails

    migrated = empty_database(database_url, tmp_path)
    migrator = Migrator(migrated)
    migrator.upgrade("e4a7c1d9b2f3")  # the revision before the accounts one
    engine = sa.create_engine(migrated)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO users (email, first_name, last_name, password_hash, active, created_at,"
            " updated_at) VALUES ('old@example.org', 'Old', 'Timer', 'x', true, "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
    migrator.upgrade()
    with engine.connect() as conn:
        keys = conn.execute(sa.text("SELECT system_key FROM email_templates "
                                    "WHERE system_key IS NOT NULL")).scalars().all()
        # The accounts migration's own three; later ones are created by the first email
        # that needs them.
        first = {"account_confirmation", "password_reset", "account_invitation"}
        assert sorted(keys) == sorted(first) and first <= set(account_emails.SYSTEM_TEMPLATES)
        versions = conn.execute(sa.text("SELECT count(*) FROM email_template_versions"))
        assert versions.scalar() == 2 * len(first)
        confirmed = conn.execute(sa.text("SELECT email_confirmed_at FROM users")).scalar()
        assert confirmed is not None
    engine.dispose()


def test_a_reset_queued_behind_a_bulk_decision_leaves_first(app, client, users, smtp):
    from tests.outbox_support import queue_messages
    from webapp.models import OutboxPriority

    with app.app_context():
        queue_messages(40, prefix="decision", priority=OutboxPriority.BULK)
    client.post("/auth/forgot", data={"email": "manager@example.org"})
    with app.app_context():
        reset = db.session.scalar(sa.select(OutboxMessage).where(
            OutboxMessage.to_addr == "manager@example.org"))
        assert reset.priority == OutboxPriority.URGENT
    drain_once(app, OUTBOX_SMTP_CONNECTIONS=1, OUTBOX_BATCH_SIZE=10)
    order = [m.rcpt_tos[0] for m in smtp.messages]
    assert len(order) == 41
    assert order.index("manager@example.org") < 10  # in the first claim, not after the 40
