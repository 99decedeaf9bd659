"""The whole path every email takes: an event, its outbox row, the worker, the SMTP server."""

import re
from html import unescape

import sqlalchemy as sa

from jobs.drain import drain_once
from tests import factories
from tests.account_support import sign_up
from webapp.extensions import db
from webapp.models import Application, Role
from webapp.models.outbox import OutboxMessage


def _setup(app):
    with app.app_context():
        manager = factories.make_user(Role.MANAGER, email="boss@example.org")
        campaign = factories.make_campaign(label="Bourses 2027", managers=[manager])
        from webapp.services.campaigns import add_default_acknowledgement

        add_default_acknowledgement(campaign)
        decision = factories.make_template(
            name="Decision",
            versions={"fr": ("Votre dossier : {{ status_label }}", "<p>{{ status_label }}</p>"),
                      "en": ("Your application: {{ status_label }}", "<p>{{ status_label }}</p>")})
        factories.make_trigger(campaign, decision, to_status="accepted")
        db.session.commit()
        return campaign.id


def test_a_submission_and_a_decision_reach_the_candidate_in_their_language(app, client, smtp):
    campaign_id = _setup(app)
    sign_up(client, {
        "first_name": "Élodie", "last_name": "Müller", "email": "elodie@example.org",
        "password": "a-strong-pass-1", "confirm": "a-strong-pass-1"})
    client.post("/language", data={"locale": "fr"})
    started = client.post(f"/apply/{campaign_id}/start")
    assert started.status_code == 303
    answers = {"title": "Étude des abeilles", "summary": "Résumé", "motivation": "Pourquoi",
               "confirmed": "y", "action": "submit"}
    # Until the address is confirmed, the answers are kept but not submitted.
    refused = client.post(started.headers["Location"], data=answers)
    assert refused.status_code == 422
    assert "Confirmez votre adresse e-mail avant d'envoyer" in unescape(
        refused.get_data(as_text=True))
    assert drain_once(app)["sent"] == 1
    [confirmation] = smtp.messages
    smtp.reset()
    link = re.search(r"http://missive\.test(/auth/confirm/\S+)",
                     confirmation.message.get_body(("plain",)).get_content()).group(1)
    assert client.get(link).status_code == 302
    assert client.post(started.headers["Location"], data=answers).status_code == 200
    submitted = client.post(started.headers["Location"] + "/submit")
    assert submitted.status_code == 303
    # The same request again (a double click, a replayed form) changes nothing.
    assert client.post(started.headers["Location"] + "/submit").status_code == 303

    assert drain_once(app)["sent"] == 1
    [ack] = smtp.messages
    assert ack.rcpt_tos == ["elodie@example.org"]
    assert ack.message["Subject"] == "Accusé de réception : Bourses 2027"
    assert ack.message["Auto-Submitted"] == "auto-generated"
    html = ack.message.get_body(("html",)).get_content()
    assert "Bonjour Élodie Müller" in html
    with app.app_context():
        application = db.session.scalar(sa.select(Application))
        assert application.reference in html
        assert application.status.code == "submitted"

    client.post("/auth/logout")
    client.post("/auth/login", data={"email": "boss@example.org",
                                     "password": factories.PASSWORD})
    with app.app_context():
        accepted = factories.status("accepted").id
    changed = client.post(f"/applications/{application.id}/status",
                          data={"status": accepted, "comment": ""})
    assert changed.status_code in (200, 303)
    assert drain_once(app)["sent"] == 1
    decision = smtp.messages[-1]
    assert decision.rcpt_tos == ["elodie@example.org"]
    assert decision.message["Subject"] == "Votre dossier : Accepté"
    with app.app_context():
        states = db.session.scalars(sa.select(OutboxMessage.state)).all()
        assert states == ["sent", "sent", "sent"]  # the confirmation, the two events
    assert drain_once(app)["sent"] == 0
    assert len(smtp.messages) == 2
