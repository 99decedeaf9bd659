"""Delivery where people look, in the browser (axe checks every page and swap): a refused
address shows as bounced on the application page and suppressed in the Outbox; the candidate
sees "we could not reach your address" and corrects it."""

import pytest
from playwright.sync_api import expect

from jobs.drain import drain_once
from tests import factories
from tests.factories import PASSWORD
from webapp import outbox
from webapp.extensions import db

pytestmark = pytest.mark.browser


def _sign_in(page, email: str) -> None:
    page.goto("/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/login" not in url, wait_until="load")


def test_a_bounced_address_is_visible_and_the_candidate_corrects_it(
        page, watched_page, app, users, smtp):
    with app.app_context():
        candidate = factories.make_user(email="typo@exmaple.org")
        campaign = factories.make_campaign()
        application = factories.make_application(campaign, candidate, "submitted")
        for key, subject in (("ack", "We received your application"), ("decision", "Decision")):
            outbox.enqueue(key=key, to_addr=candidate.email, subject=subject,
                           body_html="<p>Hello</p>", body_text="Hello",
                           application_id=application.id, recipient_user_id=candidate.id)
            db.session.commit()
            if key == "ack":
                smtp.handler.rcpt_reply = lambda address: "550 5.1.1 <typo@exmaple.org>: " \
                    "Recipient address rejected: User unknown"
                drain_once(app)
                smtp.reset()
        application_id = application.id

    _sign_in(page, "admin@example.org")
    page.goto(f"/applications/{application_id}")
    emails = page.locator("#application-emails")
    expect(emails).to_contain_text("bounced")
    expect(emails).to_contain_text("the address does not exist")
    expect(emails).to_contain_text("suppressed")
    page.goto("/outbox/?state=suppressed")
    expect(page.locator("#outbox-results tbody tr")).to_have_count(1)
    expect(page.locator("#suppressed-count")).to_contain_text("1 address is suppressed")

    candidate_page = watched_page()
    _sign_in(candidate_page, "typo@exmaple.org")
    candidate_page.goto("/my/applications")
    banner = candidate_page.locator("#address-unreachable")
    expect(banner).to_contain_text("We could not reach your address")
    banner.get_by_label("Your correct email address").fill("right@example.org")
    banner.get_by_role("button", name="Use this address").click()
    expect(candidate_page.get_by_text("Your address is now right@example.org")).to_be_visible()
    expect(candidate_page.locator("#address-unreachable")).to_have_count(0)
    drain_once(app)
    assert [m["Subject"] for m in smtp.to("right@example.org")] == ["Decision"]
