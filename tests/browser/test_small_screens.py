"""Phones: the candidate's pages and the manager's lists fit 390 px without scrolling sideways,
and the menu folds behind a button."""

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.factories import PASSWORD
from tests.outbox_support import queue_messages
from webapp.extensions import db as _db
from webapp.models import EventType, Role

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def world(app, users):
    with app.app_context():
        campaign = factories.make_campaign(
            label="Bourses de recherche pour les océans et les littoraux 2027")
        campaign.description = "A long description " * 20
        factories.make_trigger(campaign, factories.make_template(
            name="Accusé de réception très détaillé"), event=EventType.SUBMITTED)
        candidate = factories.make_user(Role.CANDIDATE, email="ada@example.org")
        draft = factories.make_application(campaign, candidate)
        for n in range(5):
            factories.make_application(campaign, status_code="submitted",
                                       title=f"A project with a rather long title number {n}")
        _db.session.commit()
        queue_messages(5, prefix="someone.with.a.long.address", campaign_id=campaign.id)
        return {"campaign": campaign.id, "draft": draft.id}


def _sign_in(page, email):
    page.goto("/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/login" not in url)


def _fits(page, path):
    page.goto(path)
    page.wait_for_load_state()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{path} is {width} px wide"


def test_the_candidate_pages_fit_a_phone_and_the_menu_folds(watched_page, world):
    page = watched_page(viewport=PHONE)
    _fits(page, "/apply/")
    _sign_in(page, "ada@example.org")
    for path in ("/apply/", f"/my/applications/{world['draft']}", "/my/applications"):
        _fits(page, path)

    menu = page.get_by_role("navigation", name="Main menu")
    toggle = page.get_by_role("button", name="Menu")
    expect(menu).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(menu).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    menu.get_by_role("link", name="Open calls").click()
    page.wait_for_url("**/apply/")


def test_the_managers_lists_fit_a_phone(watched_page, world):
    page = watched_page(viewport=PHONE)
    _sign_in(page, "admin@example.org")
    for path in ("/campaigns/", f"/applications/campaigns/{world['campaign']}",
                 "/applications/", "/email-templates/", "/outbox/", "/statuses/"):
        _fits(page, path)


def test_on_a_wide_screen_the_menu_is_always_there(page, world):
    _sign_in(page, "ada@example.org")
    expect(page.get_by_role("navigation", name="Main menu")).to_be_visible()
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
