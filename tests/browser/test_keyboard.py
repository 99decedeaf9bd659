"""Keyboard only: where focus lands after each page load and each htmx swap, so that someone
who cannot use a mouse carries on where their work continues."""

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.factories import PASSWORD
from tests.outbox_support import queue_messages
from webapp.extensions import db as _db

pytestmark = pytest.mark.browser


def _focused(page) -> str:
    """The focused element, described: tag#id[name] "accessible text"."""
    return page.evaluate("""() => {
        const e = document.activeElement;
        return e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
               (e.name ? "[" + e.name + "]" : "") + " " + (e.textContent || "").trim();
    }""")


def _tab_to(page, text, limit=60):
    """Press Tab until the focused element's text or id contains `text`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if text in _focused(page):
            return
    raise AssertionError(f"Tab never reached {text!r}; last: {_focused(page)}")


def test_signing_in_with_the_keyboard_only(page, users):
    page.goto("/auth/login")
    _tab_to(page, "[email]")
    page.keyboard.type("manager@example.org")
    page.keyboard.press("Tab")
    assert "[password]" in _focused(page)
    page.keyboard.type("not the password")
    page.keyboard.press("Enter")
    # Refused: focus starts on the field to correct, whose error is read with it.
    page.get_by_text("Unknown email or wrong password.").wait_for()
    expect(page.get_by_label("Password")).to_be_focused()
    described = page.get_by_label("Password").get_attribute("aria-describedby")
    assert "Unknown email or wrong password." in page.locator(f"#{described}").inner_text()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/auth/login" not in url)
    _tab_to(page, "Campaigns")  # the menu is reachable in order after the skip link


def test_creating_an_automatic_email_with_the_keyboard_only(page, app, users):
    with app.app_context():
        campaign = factories.make_campaign(label="Grants")
        factories.make_template(name="Decision letter")
        _db.session.commit()
        campaign_id = campaign.id
    page.goto("/auth/login")
    page.get_by_label("Email").fill("manager@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/auth/login" not in url)
    page.goto(f"/campaigns/{campaign_id}/edit")
    page.wait_for_load_state()

    # The Emails tab opens in place; focus stays on the tab the user chose.
    _tab_to(page, "Emails")
    page.keyboard.press("Enter")
    page.locator("#section-status_changed").wait_for()
    expect(page.get_by_role("navigation", name="Campaign editor").get_by_role(
        "link", name="Emails")).to_be_focused()

    # "Create an automatic email" in the manager section: focus goes to the form's first field.
    section = page.locator("#section-status_changed")
    _tab_to(page, "Create an automatic email")
    _tab_to(page, "Create an automatic email")  # the second section's button
    page.keyboard.press("Enter")
    expect(section.get_by_label("Email template")).to_be_focused()
    page.keyboard.press("ArrowDown")  # the first template
    assert section.get_by_label("Email template").input_value() != ""

    # Save without a status: 422, focus on the status to correct.
    _tab_to(page, "Save and continue")
    page.keyboard.press("Enter")
    status = section.get_by_label("When the status becomes")
    expect(status).to_be_focused()
    expect(status).to_have_attribute("aria-invalid", "true")
    page.keyboard.press("ArrowDown")
    _tab_to(page, "Save and continue")
    page.keyboard.press("Enter")

    # Saved: focus on the new row, then Tab reaches its switch; Space turns it off and focus
    # stays on the switch, whose name still says what it shows.
    row = section.locator("tr", has_text="Decision letter")
    expect(row).to_be_focused()
    _tab_to(page, "On —")
    page.keyboard.press("Space")
    switch = section.get_by_role("switch")
    expect(switch).to_have_attribute("aria-checked", "false")
    expect(switch).to_be_focused()
    expect(switch).to_have_accessible_name("Off — Decision letter")
    # The message arrived in the live region that was there from the start.
    expect(page.locator("#messages")).to_contain_text("Automatic email switched off.")


def test_the_outbox_counters_never_take_the_focus(page, app, users):
    with app.app_context():
        queue_messages(2)
    page.goto("/auth/login")
    page.get_by_label("Email").fill("admin@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/auth/login" not in url)
    page.goto("/outbox/")
    page.wait_for_load_state()
    pending = page.locator("#outbox-counters a", has_text="Pending")
    pending.focus()
    # Refreshes while the user is on a counter are skipped; the counter keeps the focus.
    page.evaluate("""() => new Promise(resolve => {
        document.body.addEventListener("htmx:afterRequest", () => setTimeout(resolve, 0),
                                       {once: true});
        htmx.trigger(document.body, "outboxChanged");
    })""")
    expect(pending).to_be_focused()
    # Once the user has moved on, the next refresh goes through.
    page.locator("#outbox-filter").get_by_label("State").focus()
    with page.expect_response(lambda r: "/outbox/counters" in r.url):
        page.evaluate("htmx.trigger(document.body, 'outboxChanged')")
    expect(page.locator("#outbox-counters a", has_text="Pending")).not_to_be_focused()
