"""Delivery where people look: the application page says bounced (with the reason in words)
or suppressed; the candidate's portal says their address could not be reached, and correcting
it sends what was held back to the new address."""

import pytest
import sqlalchemy as sa

from tests import factories
from webapp import outbox
from webapp.extensions import db
from webapp.models import DeliveryReport, User
from webapp.models.outbox import OutboxMessage
from webapp.outbox import filing


def _bounce(row: OutboxMessage) -> None:
    report = DeliveryReport(kind="hard", message_id=row.id, address=row.to_addr,
                            status="5.1.1", diagnostic="550 5.1.1 user unknown",
                            reporter="mail.example.net")
    db.session.add(report)
    db.session.flush()
    filing._apply(report, db.session.execute(
        sa.select(OutboxMessage.id, OutboxMessage.to_addr, OutboxMessage.trigger_id,
                  OutboxMessage.delivery).where(OutboxMessage.id == row.id)).one())


def _world(db):
    candidate = factories.make_user(email="typo@exmaple.org")
    campaign = factories.make_campaign()
    application = factories.make_application(campaign, candidate, "submitted")
    first = outbox.enqueue(key="ack", to_addr=candidate.email, subject="We received it",
                           body_html="<p>A</p>", body_text="A", application_id=application.id,
                           recipient_user_id=candidate.id)
    db.session.flush()
    first.state = "sent"
    _bounce(first)
    decision = outbox.enqueue(key="decision", to_addr=candidate.email, subject="Decision",
                              body_html="<p>D</p>", body_text="D",
                              application_id=application.id, recipient_user_id=candidate.id)
    db.session.commit()
    return candidate.id, application.id, decision.id


def test_the_application_page_shows_bounced_with_the_reason_and_the_suppressed_email(
        db, auth, client):
    _, application_id, decision_id = _world(db)
    assert db.session.get(OutboxMessage, decision_id).state == "suppressed"
    auth.login_as("admin")
    page = client.get(f"/applications/{application_id}").get_data(as_text=True)
    assert "bounced" in page and "the address does not exist" in page
    assert "suppressed" in page


def test_the_candidate_corrects_the_address_and_the_held_email_goes_to_it(db, auth, client):
    candidate_id, _, decision_id = _world(db)
    auth.login("typo@exmaple.org")
    page = client.get("/my/applications").get_data(as_text=True)
    assert 'id="address-unreachable"' in page and "the address does not exist" in page

    bad = client.post("/my/address", data={"email": "not an address"})
    assert bad.status_code == 422 and "valid email" in bad.get_data(as_text=True)
    assert db.session.get(OutboxMessage, decision_id).state == "suppressed"

    response = client.post("/my/address", data={"email": "right@example.org"})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, candidate_id).email == "right@example.org"
    decision = db.session.get(OutboxMessage, decision_id)
    assert (decision.state, decision.to_addr) == ("pending", "right@example.org")
    assert 'id="address-unreachable"' not in client.get("/my/applications").get_data(
        as_text=True)


def test_the_correction_needs_a_session(client):
    response = client.post("/my/address", data={"email": "x@example.org"})
    assert response.status_code in (302, 401)


@pytest.mark.parametrize("page_url", ["/auth/forgot", "/auth/link"])
def test_a_link_asked_for_a_suppressed_address_says_on_screen_it_will_not_arrive(
        db, client, page_url):
    _world(db)
    response = client.post(page_url, data={"email": "typo@exmaple.org"},
                           follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "cannot be delivered" in page and "the address does not exist" in page
    other = client.post(page_url, data={"email": "fine@example.org"},
                        follow_redirects=True).get_data(as_text=True)
    assert "cannot be delivered" not in other
