"""The template editor: live preview in a sandboxed frame, click-to-insert placeholders,
"Send me a test"."""

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.factories import PASSWORD
from webapp.extensions import db as _db
from webapp.models import EmailTemplate
from webapp.models.outbox import OutboxMessage

pytestmark = pytest.mark.browser


def test_a_manager_writes_a_template_with_a_live_preview(page, app, users):
    page.goto("/auth/login")
    page.get_by_label("Email").fill("manager@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/email-templates/")
    page.get_by_role("link", name="New template").click()
    # The placeholder panel listens once its script has run: wait for the new page's load
    # event, not the old page's (already fired when the click has not navigated yet).
    page.wait_for_url("**/email-templates/new", wait_until="load")

    page.get_by_label("Name", exact=True).fill("Welcome")
    english = page.locator("fieldset[lang=en]")
    english.get_by_label("Subject").fill("Welcome to ")
    english.get_by_label("Subject").press("End")
    page.get_by_role("button", name="{{ campaign_label }}").click()
    assert english.get_by_label("Subject").input_value() == "Welcome to {{ campaign_label }}"
    english.get_by_role("button", name="HTML source").click()  # the experts' view
    english.get_by_role("textbox", name="HTML body").fill("<p>Hello {{ recipient_name }}</p>")
    page.get_by_label("Preview language").select_option("en")

    preview = page.locator("#preview")
    preview.get_by_text("Welcome to Research grants 2027").wait_for()
    frame = page.frame_locator("iframe.preview-html")
    frame.get_by_text("Hello Camille Martin").wait_for()
    assert page.locator("iframe.preview-html").get_attribute("sandbox") == ""

    english.get_by_role("textbox", name="HTML body").fill("<p>Hello {{ recipient_nmae }}</p>")
    preview.get_by_text("Unknown placeholder: recipient_nmae").wait_for()
    english.get_by_role("textbox", name="HTML body").fill("<p>Hello {{ recipient_name }}</p>")
    frame.get_by_text("Hello Camille Martin").wait_for()

    page.get_by_role("button", name="Send me a test").click()
    page.get_by_text("A test email is queued for manager@example.org.").wait_for()

    french = page.locator("fieldset[lang=fr]")
    french.get_by_label("Subject").fill("Bienvenue")
    french.get_by_role("button", name="HTML source").click()
    french.get_by_role("textbox", name="HTML body").fill(
        "<p>Bonjour</p><script>alert(1)</script>")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("Template saved.").wait_for()

    with app.app_context():
        template = _db.session.scalars(sa.select(EmailTemplate)).one()
        assert template.version_for("fr").body_html == "<p>Bonjour</p>"
        message = _db.session.scalars(sa.select(OutboxMessage)).one()
        assert message.is_test and message.to_addr == "manager@example.org"
        assert message.subject == "[Test] Welcome to Research grants 2027"


def test_the_visual_editor_saves_clean_html_with_a_placeholder_and_previews_it(page, app,
                                                                              users):
    page.goto("/auth/login")
    page.get_by_label("Email").fill("manager@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/email-templates/new")
    page.get_by_label("Name", exact=True).fill("Decision")
    english = page.locator("fieldset[lang=en]")
    english.get_by_label("Subject").fill("Your application")
    page.get_by_label("Preview language").select_option("en")

    editor = english.locator("trix-editor")
    assert editor.get_attribute("role") == "textbox"
    assert not english.locator("textarea[name=body_html_en]").is_visible()  # source hidden
    editor.click()
    editor.press_sequentially("Dear ")
    page.get_by_role("button", name="{{ recipient_name }}").click()  # at the cursor
    editor.press_sequentially(", you are ")
    editor.press("Control+b")
    editor.press_sequentially("accepted")
    editor.press("Control+b")
    editor.press_sequentially(".")
    frame = page.frame_locator("iframe.preview-html")
    frame.get_by_text("Dear Camille Martin, you are accepted.").wait_for()
    assert frame.locator("strong").inner_text() == "accepted"

    # The source view shows what the visual editor wrote, and takes edits back.
    english.get_by_role("button", name="HTML source").click()
    source = english.get_by_role("textbox", name="HTML body")
    assert "{{ recipient_name }}" in source.input_value()
    source.fill(source.input_value().replace("accepted", "admitted")
                + '<p>Hi <a href="javascript:steal()">there</a></p><script>alert(1)</script>')
    toggle = english.get_by_role("button", name="HTML source")
    assert toggle.get_attribute("aria-pressed") == "true"
    toggle.click()  # back to the visual editor
    assert toggle.get_attribute("aria-pressed") == "false"
    assert "admitted" in editor.inner_text()
    english.get_by_role("button", name="HTML source").click()

    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("Template saved.").wait_for()
    with app.app_context():
        html = _db.session.scalars(sa.select(EmailTemplate)).one().version_for("en").body_html
    assert "Dear {{ recipient_name }}, you are <strong>admitted</strong>." in html.replace(
        "&nbsp;", " ")
    assert "<script" not in html and "javascript:" not in html and "<p>Hi" in html


def test_the_toolbar_and_the_placeholders_work_from_the_keyboard(page, app, users):
    page.goto("/auth/login")
    page.get_by_label("Email").fill("manager@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.wait_for_url("**/")
    page.goto("/email-templates/new")
    english = page.locator("fieldset[lang=en]")
    french = page.locator("fieldset[lang=fr]")

    # The toolbar is one stop of the Tab order; the arrow keys move along its buttons.
    toolbar = english.get_by_role("toolbar", name="Formatting")
    reachable = toolbar.locator("button[tabindex='0']")
    expect(reachable).to_have_count(1)
    expect(reachable).to_have_attribute("title", "Bold")
    reachable.focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.title") == "Italic"
    page.keyboard.press("End")
    last_title = page.evaluate("document.activeElement.title")
    assert last_title not in ("Bold", "Italic")
    expect(toolbar.locator("button[tabindex='0']")).to_have_count(1)

    # Typed into the French body, Tab through other fields, Enter on a placeholder: it lands
    # where the writing was, not in the last field Tab went through.
    body = french.locator("trix-editor")
    body.focus()
    page.keyboard.type("Bonjour ")
    english.get_by_label("Plain-text body (optional)").focus()
    page.get_by_role("button", name="{{ recipient_name }}").focus()
    page.keyboard.press("Enter")
    expect(body).to_contain_text("Bonjour {{ recipient_name }}")
    assert "recipient_name" not in english.get_by_label("Plain-text body (optional)").input_value()
