"""Screens as a user sees them: rows that line up, invalid fields that show it, the Outbox
search that filters while typing, no 404 for the icon (the page fixture fails on any console
error or 404)."""

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests import factories
from tests.factories import PASSWORD
from tests.outbox_support import queue_messages
from webapp.extensions import db as _db
from webapp.models.outbox import OutboxMessage

pytestmark = pytest.mark.browser
DANGER = "rgb(185, 28, 28)"


def _sign_in(page, role: str) -> None:
    page.goto("/auth/login")
    page.get_by_label("Email").fill(f"{role}@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def _cells_line_up(page, rows_selector: str) -> None:
    """Each row's cells share one top and one height, as table cells do."""
    boxes = page.eval_on_selector_all(rows_selector, """rows => rows.map(row =>
        [...row.children].map(cell => {
            const box = cell.getBoundingClientRect();
            return [Math.round(box.top), Math.round(box.height)];
        }))""")
    assert boxes
    for cells in boxes:
        assert len({tuple(cell) for cell in cells}) == 1, cells


def test_rows_with_actions_line_up(page, app, users):
    with app.app_context():
        campaign = factories.make_campaign(label="Bourses")
        template = factories.make_template(name="Decision")
        factories.make_trigger(campaign, template, to_status="accepted")
        factories.make_trigger(campaign, template, to_status="rejected", to_managers=True)
        _db.session.commit()
        campaign_id = campaign.id
    _sign_in(page, "admin")
    page.goto(f"/campaigns/{campaign_id}/emails")
    _cells_line_up(page, "#section-status_changed tbody tr")
    page.goto("/statuses/")
    _cells_line_up(page, "tbody tr")
    page.goto("/email-templates/")
    _cells_line_up(page, "tbody tr")


def test_a_row_of_the_emails_tab_previews_and_sends_a_test(page, app, users):
    with app.app_context():
        campaign = factories.make_campaign(label="Bourses")
        template = factories.make_template(
            name="Decision", default_locale="en",
            versions={"en": ("Decision: {{ status_label }}",
                             "<p>{{ campaign_label }}: {{ status_label }}</p>")})
        trigger = factories.make_trigger(campaign, template, to_status="accepted")
        _db.session.commit()
        campaign_id, trigger_id = campaign.id, trigger.id
    _sign_in(page, "manager")
    page.goto(f"/campaigns/{campaign_id}/emails")
    row = page.locator(f"#trigger-{trigger_id}")
    expect(row).to_contain_text("No email sent yet")
    row.get_by_role("button", name="Send me a test").click()
    expect(page.get_by_text("A test email is queued for manager@example.org.")).to_be_visible()
    page.locator(f"#trigger-{trigger_id}").get_by_role("link", name="Preview").click()
    expect(page.locator(".preview-subject")).to_have_text("Decision: Accepted")
    expect(page.frame_locator("iframe.preview-html").get_by_text("Bourses: Accepted")) \
        .to_be_visible()
    with app.app_context():
        sent = _db.session.scalars(sa.select(OutboxMessage)).one()
        assert sent.is_test and sent.subject == "[Test] Decision: Accepted"


def test_an_invalid_text_input_has_the_error_border(page, app, users):
    _sign_in(page, "manager")
    page.goto("/campaigns/new")
    label = page.get_by_label("Label")
    normal = label.evaluate("e => getComputedStyle(e).borderColor")
    label.fill("   ")  # passes the browser's own check, not the server's
    page.get_by_label("Opens on").fill("2027-01-01T09:00")
    page.get_by_label("Closes on").fill("2027-03-31T18:00")
    page.get_by_role("button", name="Create the campaign").click()
    label = page.get_by_label("Label")
    expect(label).to_have_attribute("aria-invalid", "true")
    assert normal != DANGER
    assert label.evaluate("e => getComputedStyle(e).borderColor") == DANGER


def test_the_outbox_search_filters_while_typing(page, app, users):
    with app.app_context():
        queue_messages(3)
    _sign_in(page, "admin")
    page.goto("/outbox/")
    page.wait_for_load_state()
    rows = page.locator("#outbox-results tbody tr")
    expect(rows).to_have_count(3)
    page.get_by_label("Search").press_sequentially("user2")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("user2@example.org")
    assert "q=user2" in page.url
    page.get_by_label("Search").fill("")
    expect(rows).to_have_count(3)
