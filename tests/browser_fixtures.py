"""Browser fixtures: the app served by a real server in a thread, driven by headless Chromium.

Playwright cannot download its own browser here; it drives Debian's Chromium. Without it the
browser tests are skipped, unless TEST_BROWSER_REQUIRED is set (CI), where they fail instead.

Every page fails its test on any console error or uncaught exception, and on any WCAG 2.1 A/AA
violation found by axe-core, which checks each page after it loads, after each htmx swap, and
once more at the end of the test. The same goes for the house rules of browser_rules.js: no
sideways scrolling on a phone, no focus lost to <body> by a swap, no English on a French page.
"""

import functools
import json
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.smtp_server import free_port

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1.min.js"
AXE_RUNNER = Path(__file__).parent / "vendor" / "axe_runner.js"
RULES = Path(__file__).parent / "browser_rules.js"
CATALOGUE = (Path(__file__).parent.parent / "webapp" / "translations" / "fr" / "LC_MESSAGES"
             / "messages.po")
# Stretches of English that a French page must not show: the catalogue's sentences, cut at
# their placeholders, kept when long enough not to be a name or a word French shares.
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w*\}|%[sd]")


@functools.cache
def _english_words() -> str:
    from babel.messages.pofile import read_po

    from webapp import models

    with CATALOGUE.open("rb") as source:
        catalogue = read_po(source)
    french = " ".join(str(m.string) for m in catalogue if m.id and m.string)
    english = set()
    for message in catalogue:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        if not message.id or not message.string or message.string == message.id:
            continue
        for msgid in ids:
            for part in PLACEHOLDER.split(msgid):
                part = part.strip(" .,:;!?()«»\"'—-")
                if len(part) >= 12 and " " in part and part not in french:
                    english.add(part)
    enums = set()
    for name in ("OutboxState", "EventType", "RecipientKind", "SkipReason", "ReminderKind",
                 "OffsetUnit", "Role", "MemberRole"):
        enums.update(str(member.value) for member in getattr(models, name))
    return json.dumps({"english": sorted(english, key=len, reverse=True),
                       "enums": sorted(enums)})
# Chromium reports each 4xx answer as a console error; the tests make some on purpose (a 422
# form, a 403 page). A 5xx is an error all the same.
EXPECTED_STATUS = re.compile(r"Failed to load resource: the server responded with a status "
                             r"of 4\d\d")


class BrowserProblems:
    """Console errors, uncaught exceptions and accessibility violations seen by one page."""

    def __init__(self, page):
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        # Chromium does not log every missing asset (the icon): check the answers too.
        page.on("response", self._response)

    def _response(self, response) -> None:
        if response.status == 404 and ("/static/" in response.url
                                       or response.url.endswith("/favicon.ico")):
            self.errors.append(f"404: {response.url}")

    def _console(self, message) -> None:
        if message.type == "error" and not EXPECTED_STATUS.search(message.text):
            self.errors.append(message.text)


def check_accessibility(page) -> None:
    """Run axe and the house rules on the page as it is now (violations land in the page's
    console errors)."""
    page.evaluate("() => window.__rulesCheck && window.__rulesCheck()")
    page.evaluate("() => window.__axeCheck && window.__axeCheck()")

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
    # shutdown() waits for the loop to look at its flag: look often.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(5)



@pytest.fixture
def browser_context_factory(chromium, live_server):
    """New browser contexts (own cookies) on the live server, with the accessibility check."""
    contexts = []
    words = f"window.__missiveWords = {_english_words()};"

    def make(**options):
        options.setdefault("locale", "en-GB")
        context = chromium.new_context(base_url=live_server, **options)
        context.set_default_timeout(10_000)
        context.add_init_script(path=str(AXE))
        context.add_init_script(path=str(AXE_RUNNER))
        context.add_init_script(script=words)
        context.add_init_script(path=str(RULES))
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def watched_page(browser_context_factory):
    """Open pages that fail the test on console errors and accessibility violations."""
    opened = []

    def open_page(**options):
        page = browser_context_factory(**options).new_page()
        problems = BrowserProblems(page)
        page.console_errors = problems.errors
        opened.append((page, problems))
        return page

    yield open_page
    problems = []
    for page, seen in opened:
        if not page.is_closed():
            try:
                check_accessibility(page)
            except Exception as error:  # a page mid-navigation: its last load was checked
                seen.errors.append(f"final accessibility check failed: {error}")
        problems += seen.errors
    assert not problems, "console errors or accessibility violations:\n" + "\n".join(problems)


@pytest.fixture
def page(watched_page):
    """A fresh browser page (own cookies) in English; `page.base_url` is the live server."""
    with tempfile.TemporaryDirectory():
        yield watched_page()
