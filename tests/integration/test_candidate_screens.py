"""The candidate's screens say each thing once: the sign-up's welcome, the receipt's reference
and date; a second click on a confirmation link is good news, not an error page."""

from html import unescape

import sqlalchemy as sa

from tests import factories
from tests.account_support import received_link
from webapp.extensions import db
from webapp.models import Application, EventType

SIGNUP = {"first_name": "Ana", "last_name": "Lopez", "email": "ana@example.org",
          "password": "a-strong-pass-1", "confirm": "a-strong-pass-1"}
FORM = {"title": "My project", "summary": "Summary", "motivation": "Why", "confirmed": "y"}


def page(response) -> str:
    return unescape(response.get_data(as_text=True))


def _sign_up_and_in(client):
    client.post("/auth/signup", data=SIGNUP)
    return client.post("/auth/login", data={"email": SIGNUP["email"],
                                            "password": SIGNUP["password"]},
                       follow_redirects=True)


def test_after_sign_up_the_link_is_announced_once(client):
    html = page(client.post("/auth/signup", data=SIGNUP, follow_redirects=True))
    assert html.lower().count("sent a link to ana@example.org") == 1
    signed_in = page(client.post("/auth/login", data={"email": SIGNUP["email"],
                                                      "password": SIGNUP["password"]},
                                 follow_redirects=True))
    assert signed_in.lower().count("ana@example.org") == 1


def test_a_second_click_on_the_confirmation_link_says_it_is_already_done(app, client, smtp):
    client.post("/auth/signup", data=SIGNUP)
    link, _message = received_link(app, smtp, "ana@example.org", "/auth/confirm/")
    client.get(link)
    again = client.get(link)
    assert again.status_code == 303
    assert "This address is already confirmed." in page(client.get(again.location,
                                                              follow_redirects=True))


def test_the_refused_submission_offers_the_link_again_beside_the_form(app, client):
    with app.app_context():
        campaign_id = factories.make_campaign().id
        db.session.commit()
    _sign_up_and_in(client)
    target = client.post(f"/apply/{campaign_id}/start").headers["Location"]
    refused = page(client.post(target, data={**FORM, "action": "submit"}))
    form = refused[refused.index('id="application-form"'):]
    assert 'form="resend-confirmation"' in form and "Send the link again" in form


def test_the_receipt_shows_the_reference_and_date_once_and_the_acknowledgement(
        app, client, auth, users, smtp):
    with app.app_context():
        campaign = factories.make_campaign()
        factories.make_trigger(campaign, factories.make_template(name="Thanks"),
                               event=EventType.SUBMITTED)
        db.session.commit()
        campaign_id = campaign.id
    auth.login_as("candidate")
    target = client.post(f"/apply/{campaign_id}/start").headers["Location"]
    client.post(target, data={**FORM, "action": "submit"})
    receipt = client.post(target + "/submit").location
    html = page(client.get(receipt))
    with app.app_context():
        reference = db.session.scalar(sa.select(Application.reference))
    main = html[html.index("<main"):]
    assert main.count(reference) == 1
    assert main.count("Submitted on") == 1
    assert "An acknowledgement of receipt was emailed to candidate@example.org." in main
