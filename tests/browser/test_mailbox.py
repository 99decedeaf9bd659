"""The development Mailbox shows new mail by itself, without taking the keyboard's focus."""

import pytest
from playwright.sync_api import expect

from jobs import embedded
from jobs.drain import drain_once
from tests.factories import PASSWORD
from tests.smtp_server import free_port
from webapp import outbox
from webapp.extensions import db

pytestmark = pytest.mark.browser


@pytest.fixture
def app(make_app):
    app = make_app(DEV_MAIL_CATCHER=True, DEV_MAIL_CATCHER_PORT=free_port())
    controller = embedded.start_catcher(app)
    yield app
    controller.stop()


def _mail(app, key: str, subject: str) -> None:
    with app.app_context():
        outbox.enqueue(key=key, to_addr="zoe@example.org", subject=subject,
                       body_html="<p>Bonjour</p>", body_text="Bonjour")
        db.session.commit()
    assert drain_once(app)["sent"] == 1


POLL_MS = 3_000  # the list's hx-trigger="every 3s"


def test_new_mail_appears_while_the_page_stays_open(page, app, users):
    _mail(app, "first", "Premier message")
    page.clock.install()  # the page's clock runs as usual; the test moves it to the next poll
    page.goto("/auth/login")
    page.get_by_label("Email").fill("admin@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    page.goto("/mailbox/")
    page.evaluate("window.noReload = true")
    first = page.get_by_role("link", name="Premier message")
    first.focus()
    with page.expect_response(lambda r: "/mailbox/?seen=" in r.url and r.status == 204):
        page.clock.fast_forward(POLL_MS)  # a poll that finds nothing new
    expect(first).to_be_focused()

    _mail(app, "second", "Second message")
    page.clock.fast_forward(POLL_MS)  # the next poll
    expect(page.get_by_role("link", name="Second message")).to_be_visible()
    assert page.evaluate("window.noReload") is True


def test_a_link_inside_a_previewed_email_goes_nowhere(page, app, users, live_server):
    with app.app_context():
        outbox.enqueue(key="link", to_addr="zoe@example.org", subject="Confirmez",
                       body_html=f'<p><a href="{live_server}/favicon.ico?clicked=1">'
                                 "Confirmer mon adresse</a></p>",
                       body_text="Confirmer")
        db.session.commit()
    assert drain_once(app)["sent"] == 1
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/auth/login")
    page.get_by_label("Email").fill("admin@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    page.goto("/mailbox/")
    page.get_by_role("link", name="Confirmez").click()
    link = page.frame_locator("iframe.mail-html").get_by_text("Confirmer mon adresse")
    expect(link).to_be_visible()
    assert link.get_attribute("href") is None
    link.click()
    page.goto("/mailbox/")  # anything the click started has been sent by now
    assert not [url for url in requested if "clicked=1" in url]
