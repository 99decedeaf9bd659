import re

import pytest
from playwright.sync_api import expect

from jobs.drain import drain_once
from tests.factories import PASSWORD
from tests.outbox_support import queue_messages

pytestmark = pytest.mark.browser


def test_admin_filters_failed_messages_retries_one_and_sees_it_sent(page, app, users, smtp):
    with app.app_context():
        queue_messages(3)
    smtp.handler.rcpt_reply = lambda address: (
        "550 5.1.1 Mailbox unavailable" if address == "user1@example.org" else None)
    drain_once(app)
    smtp.reset()

    page.goto("/auth/login")
    page.get_by_label("Email").fill("admin@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Outbox").click()
    # htmx binds the filter's triggers once the new page has loaded (not the page the click
    # left, whose load event has long fired).
    page.wait_for_url("**/outbox/", wait_until="load")
    expect(page.locator("#count-failed")).to_have_text("1")
    expect(page.locator("#outbox-results tbody tr")).to_have_count(3)

    page.get_by_label("State").select_option(label="Failed")
    expect(page.locator("#outbox-results tbody tr")).to_have_count(1)
    assert "state=failed" in page.url
    page.get_by_role("link", name="Hello 1").click()
    page.wait_for_url(re.compile(r"/outbox/\d+"), wait_until="load")

    detail = page.locator("#message-detail")
    expect(detail).to_contain_text("550 5.1.1 Mailbox unavailable")
    expect(page.locator("#message-state")).to_have_text("Failed")
    page.get_by_role("button", name="Retry now").click()
    expect(page.locator("#message-state")).to_have_text("Pending")
    expect(page.get_by_text("The message will be sent at the next drain.")).to_be_visible()

    assert drain_once(app)["sent"] == 1
    expect(page.locator("#message-state")).to_have_text("Sent")
    assert [m.rcpt_tos for m in smtp.messages] == [["user1@example.org"]]
