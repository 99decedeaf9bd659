"""Lists in the browser: sorting, select-all, CSV downloads, the members filter."""

import csv
import io

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.factories import PASSWORD
from tests.outbox_support import queue_messages
from webapp.extensions import db as _db

pytestmark = pytest.mark.browser


def _sign_in(page, email):
    page.goto("/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/login" not in url)


def _download(page, link):
    with page.expect_download() as info:
        link.click()
    download = info.value
    with open(download.path(), encoding="utf-8-sig") as file:
        text = file.read()
    return download.suggested_filename, list(csv.reader(io.StringIO(text)))


def test_an_outbox_export_of_ten_thousand_rows_downloads_and_parses(page, app, users):
    with app.app_context():
        queue_messages(10_000, prefix="bulk")
        queue_messages(3, prefix="other")
    _sign_in(page, "admin@example.org")
    page.goto("/outbox/?q=bulk")
    name, rows = _download(page, page.get_by_role("link", name="Download as CSV"))
    assert name == "outbox.csv"
    assert rows[0][3] == "Recipient" and len(rows) == 1 + 10_000
    assert {r[3] for r in rows[1:]} == {f"bulk{i}@example.org" for i in range(10_000)}


def test_a_manager_sorts_selects_all_and_downloads_the_applications(page, app, users):
    with app.app_context():
        campaign = factories.make_campaign(label="Grants")
        for title in ("Kelp", "Anemones", "Tide pools"):
            factories.make_application(campaign, status_code="submitted", title=title)
        _db.session.commit()
        campaign_id = campaign.id
    _sign_in(page, "manager@example.org")
    page.goto(f"/applications/campaigns/{campaign_id}")
    page.wait_for_load_state()
    titles = page.locator("#applications-rows tr td:nth-child(4)")
    page.get_by_role("link", name="Title").click()
    expect(titles).to_have_text(["Anemones", "Kelp", "Tide pools"])
    assert "sort=title" in page.url
    page.get_by_role("link", name="Title").click()
    expect(titles).to_have_text(["Tide pools", "Kelp", "Anemones"])
    expect(page.get_by_role("columnheader", name="Title")).to_have_attribute(
        "aria-sort", "descending")

    select_all = page.get_by_label("Select every row of this page")
    select_all.check()
    boxes = page.locator("#applications-rows input[name=ids]")
    assert [boxes.nth(i).is_checked() for i in range(3)] == [True, True, True]
    boxes.nth(1).uncheck()
    assert select_all.evaluate("box => box.indeterminate") is True
    select_all.check()
    assert all(boxes.nth(i).is_checked() for i in range(3))
    select_all.uncheck()
    assert not any(boxes.nth(i).is_checked() for i in range(3))

    name, rows = _download(page, page.get_by_role("link", name="Download as CSV"))
    assert name == f"applications-{campaign_id}.csv"
    assert [r[4] for r in rows[1:]] == ["Tide pools", "Kelp", "Anemones"]  # as sorted


def test_members_are_picked_from_a_filtered_list_with_the_creator_ticked(page, app, users):
    with app.app_context():
        for first, last in (("Nadia", "Benali"), ("Hugo", "Morel"), ("Ines", "Moreau")):
            factories.make_user("manager", email=f"{first.lower()}@example.org",
                                first_name=first, last_name=last)
        _db.session.commit()
    _sign_in(page, "manager@example.org")
    page.goto("/campaigns/new")
    managers = page.get_by_role("group", name="Managers")
    assert managers.get_by_label("manager@example.org", exact=False).is_checked()
    managers.get_by_role("searchbox").fill("mor")
    expect(managers.locator("li:visible")).to_have_count(2)
    managers.get_by_label("Hugo Morel", exact=False).check()
    managers.get_by_role("searchbox").fill("")
    expect(managers.locator("li:visible")).to_have_count(5)
    page.get_by_label("Label").fill("Grants 2028")
    page.get_by_label("Opens on").fill("2027-09-01T09:00")
    page.get_by_label("Closes on").fill("2027-12-01T18:00")
    assert not page.get_by_label("Published").is_checked()
    page.get_by_role("button", name="Create the campaign").click()
    page.get_by_text("Campaign created.").wait_for()
    with app.app_context():
        from webapp.models import Campaign, MemberRole

        campaign = _db.session.scalars(_db.select(Campaign)).one()
        assert not campaign.published
        assert sorted(u.email for u in campaign.member_users(MemberRole.MANAGER)) == [
            "hugo@example.org", "manager@example.org"]
