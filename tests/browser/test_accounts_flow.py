"""A candidate's account in the browser: sign up, confirm the address from the email, forget
the password, choose a new one from the emailed link."""

import pytest

from tests.account_support import received_link

pytestmark = pytest.mark.browser

FIRST_PASSWORD = "saffron lantern 93"
NEW_PASSWORD = "violet kettle orbit 7"


def test_sign_up_confirm_then_recover_a_forgotten_password(app, page, smtp):
    page.goto("/auth/signup")
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Last name").fill("Lovelace")
    page.get_by_label("Email").fill("ada@example.org")
    page.get_by_label("Password", exact=True).fill(FIRST_PASSWORD)
    page.get_by_label("Repeat the password").fill(FIRST_PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.get_by_text("we sent a link to ada@example.org").wait_for()
    page.get_by_label("Email").fill("ada@example.org")  # sign-up signs nobody in
    page.get_by_label("Password", exact=True).fill(FIRST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    notice = page.locator("#unconfirmed-notice")
    notice.get_by_text("we sent a link to ada@example.org").wait_for()
    notice.get_by_role("button", name="Send the link again").click()
    page.get_by_text("A link was sent a moment ago.").wait_for()  # rate-limited
    link, message = received_link(app, smtp, "ada@example.org", "/auth/confirm/")
    assert message["Subject"] == "Confirm your email address · Missive"
    page.goto(link)
    page.get_by_text("Your email address is confirmed.").wait_for()
    assert page.locator("#unconfirmed-notice").count() == 0

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill("ada@example.org")
    page.get_by_role("button", name="Send me a link").click()
    page.get_by_text("a link to choose a new password is on its way").wait_for()

    link, message = received_link(app, smtp, "ada@example.org", "/auth/reset/")
    assert message["Subject"] == "Choose a new password · Missive"
    page.goto(link)
    page.get_by_label("New password").fill("password123")
    page.get_by_label("Repeat the password").fill("password123")
    page.get_by_role("button", name="Save the password").click()
    page.get_by_text("among the first that attackers try").wait_for()
    assert page.get_by_label("New password").get_attribute("aria-invalid") == "true"
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_label("Repeat the password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save the password").click()
    page.get_by_text("Your new password is set.").wait_for()
    assert page.get_by_role("button", name="Sign out").is_visible()

    page.goto(link)  # the link worked once
    page.get_by_text("This link was already used").wait_for()
