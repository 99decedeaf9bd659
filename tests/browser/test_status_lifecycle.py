import pytest

from tests import factories
from tests.factories import PASSWORD
from webapp.extensions import db as _db

pytestmark = pytest.mark.browser


def test_a_manager_reopens_a_submitted_application_for_changes(app, page, users):
    with app.app_context():
        campaign = factories.make_campaign(label="Ocean grants")
        application = factories.make_application(campaign, status_code="submitted")
        _db.session.commit()
        application_id = application.id
    page.goto("/auth/login")
    page.get_by_label("Email").fill("manager@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/applications/{application_id}")
    assert page.get_by_label("New status").locator("option", has_text="Draft").count() == 0

    page.locator("summary", has_text="Reopen for changes").click()
    page.get_by_text("must submit it again").wait_for()
    page.get_by_label("Why (optional, kept in the history)").fill("Budget missing")
    page.get_by_role("button", name="Reopen for changes").click()

    page.get_by_text("The application is a draft again").wait_for()
    panel = page.locator("#status-panel")
    panel.get_by_text("it belongs to its candidate until they submit it").wait_for()
    assert panel.get_by_label("New status").count() == 0
    page.locator("#activity").get_by_text("Budget missing").wait_for()
