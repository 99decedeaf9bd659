import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests import factories
from tests.account_support import received_link
from tests.factories import PASSWORD
from webapp.extensions import db as _db
from webapp.models import Application, EventType, User

pytestmark = pytest.mark.browser


@pytest.fixture
def campaign(app, users):
    with app.app_context():
        campaign = factories.make_campaign(label="Ocean grants")
        factories.make_trigger(campaign, factories.make_template(
            name="Acknowledgement", versions={"en": ("We received {{ application_reference }}",
                                                     "<p>Thanks</p>")}),
            event=EventType.SUBMITTED)
        factories.make_trigger(campaign, factories.make_template(
            name="Good news", versions={"en": ("{{ application_reference }}: {{ status_label }}",
                                               "<p>Congratulations</p>")}),
            to_status="accepted")
        _db.session.commit()
        return campaign.id


def test_candidate_submits_then_manager_accepts_after_seeing_the_email_count(
        app, page, campaign, smtp):
    page.goto("/apply/")
    page.get_by_role("link", name="Sign up to apply").click()
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Last name").fill("Lovelace")
    page.get_by_label("Email").fill("ada@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    # Sign-up answers alike for any address, so the new account signs in with its password.
    page.get_by_label("Email").fill("ada@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#unconfirmed-notice").wait_for()
    link, _message = received_link(app, smtp, "ada@example.org", "/auth/confirm/")
    page.goto(link)
    page.get_by_text("Your email address is confirmed.").wait_for()
    page.goto("/apply/")

    page.get_by_role("button", name="Apply").click()
    page.get_by_label("Title of your project").fill("Tide pools")
    page.get_by_label("Summary").fill("Counting crabs.")
    page.get_by_label("Motivation").fill("Crabs matter.")
    page.get_by_role("button", name="Submit my application").click()
    # The form refuses until the confirmation is ticked, and says why next to the box.
    page.get_by_text("Confirm that your answers are accurate.").wait_for()
    page.get_by_label("I confirm that my answers are accurate and complete.").check()
    page.get_by_role("button", name="Submit my application").click()
    # It asks first, saying what submitting means, and nothing is submitted yet.
    question = page.get_by_role("heading", name="Submit your application?")
    question.wait_for()
    expect(question).to_be_focused()
    assert page.get_by_text("can no longer be changed").is_visible()
    with app.app_context():
        application = _db.session.scalars(sa.select(Application).join(User).where(
            User.email == "ada@example.org")).one()
        application_id, reference = application.id, application.reference
        assert application.status.code == "draft" and application.title == "Tide pools"
    page.get_by_role("button", name="Yes, submit my application").click()

    # The receipt: the reference, a printable summary.
    page.wait_for_url(re.compile(rf"/my/applications/{application_id}/receipt$"))
    assert page.locator("#receipt .reference").inner_text() == reference
    summary = page.locator("#application-summary")
    assert summary.get_by_text("Submitted", exact=True).is_visible()
    assert page.get_by_role("button", name="Print this receipt").is_visible()
    page.emulate_media(media="print")
    assert not page.get_by_role("navigation", name="Main menu").is_visible()
    assert not page.get_by_role("button", name="Print this receipt").is_visible()
    assert summary.is_visible()
    page.emulate_media(media="screen")

    page.get_by_role("button", name="Sign out").click()
    page.goto("/auth/login")
    page.get_by_label("Email").fill("manager@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/applications/campaigns/{campaign}")
    page.get_by_role("link", name=reference).click()
    # Loaded, not only shown: a choice made before htmx has bound the select sends nothing.
    page.wait_for_url(re.compile(rf"/applications/{application_id}$"))

    emails = page.locator("#application-emails")
    emails.get_by_text(f"We received {reference}").wait_for()
    page.get_by_label("New status").select_option(label="Accepted")
    preview = page.locator("#status-preview")
    preview.get_by_text("1 application will move to Accepted.").wait_for()
    assert preview.get_by_text("1 email will be queued:").is_visible()
    assert preview.get_by_text("template “Good news” → 1 recipient").is_visible()
    page.get_by_label("Comment (optional)").fill("Lovely crabs")
    page.get_by_role("button", name="Change the status").click()

    page.get_by_text("1 application moved to Accepted. 1 email queued.").wait_for()
    emails = page.locator("#application-emails")
    emails.get_by_text(f"{reference}: Accepted").wait_for()
    assert emails.locator("tbody tr").count() == 2
    assert emails.get_by_text("queued", exact=True).count() == 2
    assert page.locator("#status-history").get_by_text("Lovely crabs").is_visible()
    assert re.search(rf"/applications/{application_id}$", page.url)


def test_manager_previews_then_applies_a_bulk_change_of_all_matching_rows(app, page, campaign):
    with app.app_context():
        grants = _db.session.get(factories.Campaign, campaign)
        for _n in range(3):
            factories.make_application(grants, status_code="submitted")
        factories.make_application(grants, status_code="draft")
        _db.session.commit()
    page.goto("/auth/login")
    page.get_by_label("Email").fill("manager@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/applications/campaigns/{campaign}")
    page.locator("#application-filters").get_by_label("Status").select_option(
        label="Submitted")
    page.get_by_text("3 applications match.").wait_for()
    assert "status=" in page.url

    page.get_by_label("All 3 applications matching this filter").check()
    page.locator("#bulk-form").get_by_label("New status").select_option(label="Accepted")
    page.get_by_role("button", name="Preview the change").click()
    confirm = page.locator("#bulk-confirm-panel")
    confirm.get_by_text("3 applications will move to Accepted.").wait_for()
    assert confirm.get_by_text("template “Good news” → 3 recipients").is_visible()
    confirm.get_by_role("button", name="Apply the change").click()

    page.get_by_text("3 applications moved to Accepted. 3 emails queued.").wait_for()
    page.get_by_text("0 applications match.").wait_for()  # the list keeps its filter
    with app.app_context():
        codes = sorted(a.status.code for a in _db.session.scalars(sa.select(Application)))
    assert codes == ["accepted", "accepted", "accepted", "draft"]
