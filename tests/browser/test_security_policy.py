"""The Content-Security-Policy in a real browser: pages and htmx work under it, inline script
is refused (and the browser tests notice), email previews keep their inline styles."""

import pytest

from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def _sign_in(page, role):
    page.goto("/auth/login")
    page.get_by_label("Email").fill(f"{role}@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_an_injected_inline_script_is_refused_and_reported(page, users):
    page.goto("/auth/login")
    page.evaluate("""() => {
        window.ran = false;
        const script = document.createElement("script");
        script.textContent = "window.ran = true";
        document.body.appendChild(script);
    }""")
    assert page.evaluate("window.ran") is False
    reported = [e for e in page.console_errors if "Content Security Policy" in e]
    assert reported, page.console_errors
    page.console_errors.clear()  # seen: the fixture would fail the test on it


def test_email_previews_keep_their_inline_styles_in_the_sandboxed_frame(page, users):
    _sign_in(page, "manager")
    page.goto("/email-templates/new")
    english = page.locator("fieldset[lang=en]")
    english.get_by_label("Subject").fill("Styled")
    english.get_by_role("button", name="HTML source").click()
    english.get_by_role("textbox", name="HTML body").fill(
        '<p style="color: #ff0000">Hello {{ recipient_name }}</p>')
    page.get_by_label("Preview language").select_option("en")
    paragraph = page.frame_locator("iframe.preview-html").get_by_text("Hello Camille Martin")
    paragraph.wait_for()
    assert paragraph.evaluate("p => getComputedStyle(p).color") == "rgb(255, 0, 0)"
    # The frame runs no script: sandboxed without allow-scripts.
    assert page.locator("iframe.preview-html").get_attribute("sandbox") == ""


def test_the_preview_names_the_construct_a_template_may_not_use(page, users):
    _sign_in(page, "manager")
    page.goto("/email-templates/new")
    english = page.locator("fieldset[lang=en]")
    english.get_by_label("Subject").fill("Heavy")
    english.get_by_role("button", name="HTML source").click()
    english.get_by_role("textbox", name="HTML body").fill("<p>{{ 9**10000000 > 1 }}</p>")
    page.get_by_label("Preview language").select_option("en")
    refusal = "Line 1: arithmetic (+ - * / **) is not allowed in an email template."
    page.locator("#preview").get_by_text(refusal).wait_for()
    page.get_by_label("Name", exact=True).fill("Heavy")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text(refusal).first.wait_for()
    assert "/email-templates/new" in page.url
