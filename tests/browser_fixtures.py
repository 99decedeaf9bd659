"""Browser fixtures: the app served by a real server in a thread, driven by headless Chromium.

Playwright cannot download its own browser here; it drives Debian's Chromium. Without it the
browser tests are skipped, unless TEST_BROWSER_REQUIRED is set (CI), where they fail instead.
"""

import os
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


def _expected(message) -> bool:
    """Chromium logs every 4xx answer; a 422 is how a form comes back with its errors."""
    return "the server responded with a status of 422" in message.text


@pytest.fixture
def page(chromium, live_server):
    """A fresh browser page (own cookies) in English; `page.base_url` is the live server.
    The test fails on any console error or uncaught script error (htmx reports bad syntax
    and failed requests there), and on any request the server answers with a 404."""
    with tempfile.TemporaryDirectory():
        context = chromium.new_context(locale="en-GB", base_url=live_server)
        context.set_default_timeout(10_000)
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda message: message.type == "error" and not _expected(message)
                and problems.append(f"console: {message.text} ({message.location.get('url')})"))
        page.on("pageerror", lambda error: problems.append(f"script: {error}"))
        page.on("response", lambda response: response.status == 404 and problems.append(
            f"404: {response.url}"))
        page.console_problems = problems
        yield page
        context.close()
        assert not problems, "the browser reported errors:\n" + "\n".join(problems)
