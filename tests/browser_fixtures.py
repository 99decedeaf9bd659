"""Browser fixtures: the app served by a real server in a thread, driven by headless Chromium.

Playwright cannot download its own browser here; it drives Debian's Chromium. Without it the
browser tests are skipped, unless TEST_BROWSER_REQUIRED is set (CI), where they fail instead.
"""

import os
import re
import shutil
import tempfile
import threading

import pytest
from werkzeug.serving import make_server

from tests.smtp_server import free_port

CHROMIUM = os.environ.get("TEST_CHROMIUM", "/usr/bin/chromium")
BROWSER_REQUIRED = os.environ.get("TEST_BROWSER_REQUIRED", "") not in ("", "0", "false")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def chromium():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM}"
        if BROWSER_REQUIRED:
            pytest.fail(message + " and TEST_BROWSER_REQUIRED is set")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
        )
        yield browser
        browser.close()


@pytest.fixture
def live_server(app):
    """Serve the test's app on a free local port; yields the base URL."""
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(5)


# Chromium reports each 4xx answer as a console error; the tests make some on purpose (a 422
# form, a 403 page). A 5xx is an error all the same.
EXPECTED_STATUS = re.compile(r"Failed to load resource: the server responded with a status "
                             r"of 4\d\d")


@pytest.fixture
def page(chromium, live_server):
    """A fresh browser page (own cookies) in English; `page.base_url` is the live server.
    The app's security headers are on; the test fails on any console error, a violation of
    the Content-Security-Policy included (`page.console_errors` lists them); static files and
    the icon must not answer 404."""
    with tempfile.TemporaryDirectory():
        context = chromium.new_context(locale="en-GB", base_url=live_server)
        context.set_default_timeout(10_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text)
                if message.type == "error" and not EXPECTED_STATUS.search(message.text)
                else None)
        page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
        # Chromium does not log every missing asset (the icon): check the answers too.
        page.on("response", lambda response: errors.append(f"404: {response.url}")
                if response.status == 404 and ("/static/" in response.url
                                                or response.url.endswith("/favicon.ico"))
                else None)
        page.console_errors = errors
        yield page
        context.close()
        assert not errors, f"console errors: {errors}"
