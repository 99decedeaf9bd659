"""A row whose template failed for its recipient is never sent as it is: retry and resend
render it again with the current template (or refuse with the reason), and the drain fails
any row without a body instead of sending it. Real database, real drain, real SMTP server."""

from html import unescape

import pytest
import sqlalchemy as sa

from jobs.drain import drain_once
from tests import factories
from webapp.extensions import db
from webapp.models import EmailTemplate, Role, User
from webapp.models.outbox import OutboxAttempt, OutboxMessage
from webapp.services import applications
from webapp.services.applications import Selection

BROKEN = "{{ status_label }} {{ (1 // 0) }}"


@pytest.fixture
def failed_row(app, users):
    """A decision whose template fails for its recipient: stored failed, raw subject, no body;
    returns (row id, template id)."""
    with app.app_context():
        manager = factories.make_user(Role.MANAGER, email="boss@example.org")
        campaign = factories.make_campaign(label="Bourses", managers=[manager])
        template = factories.make_template(name="Décision", subject=BROKEN,
                                           body_html="<p>Bonjour {{ recipient_name }}</p>")
        factories.make_trigger(campaign, template)
        candidate = factories.make_user(Role.CANDIDATE, email="cand@example.org",
                                        locale="fr")
        application = factories.make_application(campaign, candidate,
                                                 status_code="submitted")
        db.session.commit()
        applications.bulk_change_status(manager, Selection(campaign.id, ids=(application.id,)),
                                        factories.status("accepted").id)
        row = db.session.scalars(sa.select(OutboxMessage)).one()
        assert (row.state, row.subject, row.body_html) == ("failed", BROKEN, "")
        assert row.last_error.startswith("Rendering failed")
        return row.id, template.id


def _row(app, row_id):
    with app.app_context():
        row = db.session.get(OutboxMessage, row_id)
        db.session.expunge(row)
        return row


def _fix_template(app, template_id):
    with app.app_context():
        template = db.session.get(EmailTemplate, template_id)
        for version in template.versions:
            version.subject = "Décision : {{ status_label }}"
        db.session.commit()


@pytest.fixture
def french(app, client, users):
    """The sysadmin reads French."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr"
    with app.app_context():
        db.session.get(User, users["admin"]).locale = "fr"
        db.session.commit()
    return client


def test_the_drain_never_sends_a_row_without_a_body(app, failed_row, smtp):
    row_id, _template = failed_row
    with app.app_context():  # as a retry before this rule did: the raw row made due again
        db.session.execute(sa.update(OutboxMessage).values(state="pending", max_attempts=9))
        db.session.commit()
    drain_once(app)
    assert smtp.messages == []
    row = _row(app, row_id)
    assert row.state == "failed"
    assert "never rendered" in row.last_error


def test_retry_of_a_row_that_still_does_not_render_is_refused_with_the_reason(
        app, french, auth, failed_row, smtp, htmx_headers):
    row_id, _template = failed_row
    auth.login_as("admin")
    page = french.get(f"/outbox/{row_id}").get_data(as_text=True)
    assert "Réessayer maintenant" not in page and "Renvoyer…" not in page
    assert "ne peut pas être généré à nouveau" in page
    assert "le calcul (+ - * / **)" in page  # why it still does not render, in French
    response = french.post(f"/outbox/{row_id}/retry", headers=htmx_headers)
    assert response.status_code == 422
    assert "ne peut pas être généré à nouveau" in response.get_data(as_text=True)
    assert french.post(f"/outbox/{row_id}/resend", headers=htmx_headers).status_code == 422
    row = _row(app, row_id)
    assert (row.state, row.subject, row.body_html) == ("failed", BROKEN, "")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 1
    drain_once(app)
    assert smtp.messages == []


def test_retry_renders_again_with_the_current_template_and_says_so(
        app, french, auth, failed_row, smtp):
    row_id, template_id = failed_row
    _fix_template(app, template_id)
    auth.login_as("admin")
    page = french.get(f"/outbox/{row_id}").get_data(as_text=True)
    assert "Générer à nouveau et réessayer" in page
    assert "avec le modèle actuel" in page
    assert french.post(f"/outbox/{row_id}/retry").status_code == 303
    row = _row(app, row_id)
    assert (row.state, row.subject) == ("pending", "Décision : Accepté")
    assert "Bonjour" in row.body_html and row.last_error == ""
    drain_once(app)
    [message] = smtp.messages
    assert message.message["Subject"] == "Décision : Accepté"
    assert "Bonjour" in message.message.get_body(("plain",)).get_content()
    with app.app_context():
        outcomes = db.session.scalars(sa.select(OutboxAttempt.outcome).where(
            OutboxAttempt.message_id == row_id).order_by(OutboxAttempt.id)).all()
        assert outcomes == ["rendered", "sent"]
    page = french.get(f"/outbox/{row_id}").get_data(as_text=True)
    assert "généré à nouveau" in page
    assert "Rendered again with the current template by admin@example.org" in page


def test_resend_of_a_never_rendered_row_sends_a_rendered_copy(
        app, french, auth, failed_row, smtp):
    row_id, template_id = failed_row
    _fix_template(app, template_id)
    auth.login_as("admin")
    confirm = french.get(f"/outbox/{row_id}/resend").get_data(as_text=True)
    assert "avec le modèle actuel" in confirm
    assert french.post(f"/outbox/{row_id}/resend").status_code == 303
    drain_once(app)
    [message] = smtp.messages
    assert message.message["Subject"] == "Décision : Accepté"
    with app.app_context():
        copy = db.session.scalars(sa.select(OutboxMessage).where(
            OutboxMessage.resent_from_id == row_id)).one()
        assert copy.state == "sent" and "Bonjour" in copy.body_html


def test_bulk_retry_renders_again_or_leaves_the_row_as_it_is(app, french, auth, failed_row,
                                                             smtp):
    row_id, template_id = failed_row
    auth.login_as("admin")
    confirm = unescape(french.get("/outbox/bulk?action=retry&state=failed").get_data(True))
    assert "1 d'entre eux n'a jamais été généré" in confirm
    french.post("/outbox/bulk?action=retry&state=failed")
    page = unescape(french.get("/outbox/?state=failed").get_data(as_text=True))
    assert "1 message n'a jamais été généré et ne peut toujours pas l'être" in page
    assert _row(app, row_id).state == "failed"
    drain_once(app)
    assert smtp.messages == []
    _fix_template(app, template_id)
    french.post("/outbox/bulk?action=retry&state=failed")
    drain_once(app)
    [message] = smtp.messages
    assert message.message["Subject"] == "Décision : Accepté"
