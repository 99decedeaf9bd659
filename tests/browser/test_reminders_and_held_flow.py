import pytest

from jobs import reminders as jobs_reminders
from jobs.drain import drain_once
from tests import factories
from tests.factories import PASSWORD
from tests.outbox_support import clock_fixture  # noqa: F401
from webapp.extensions import db as _db
from webapp.models import Role

pytestmark = pytest.mark.browser


@pytest.fixture
def campaign(app, users):
    with app.app_context():
        campaign = factories.make_campaign(label="Ocean grants", closes_in_days=10)
        factories.make_template(name="Closing soon", versions={
            "en": ("Only a few days left for {{ campaign_label }}", "<p>Finish it</p>")})
        factories.make_template(name="Decision", versions={
            "en": ("{{ application_reference }}: {{ status_label }}", "<p>Our decision</p>")})
        for i in range(2):
            factories.make_application(campaign, factories.make_user(
                Role.CANDIDATE, email=f"draft{i}@example.org"))
            factories.make_application(campaign, factories.make_user(
                Role.CANDIDATE, email=f"submitted{i}@example.org"), status_code="submitted")
        _db.session.commit()
        return campaign.id


def test_manager_schedules_a_reminder_holds_decisions_then_releases_them(
        app, page, campaign, clock, smtp):
    errors = []
    # Every console error fails the test, but the browser's own favicon request.
    page.on("console", lambda m: errors.append(f"{m.text} {m.location}")
            if m.type == "error" and "favicon.ico" not in m.location.get("url", "") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto("/auth/login")
    page.get_by_label("Email").fill("manager@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/campaigns/{campaign}/emails")

    # "Relances programmées": three days before the closing date, to drafts.
    section = page.locator("#section-reminders")
    section.get_by_role("link", name="Schedule a reminder").click()
    form = page.locator("#reminder-form")
    form.get_by_label("When").select_option(label="Before the closing date")
    form.get_by_label("Email template").select_option(label="Closing soon")
    form.get_by_label("How long").fill("3")
    form.get_by_label("Unit").select_option(label="days")
    assert form.get_by_label("Status", exact=True).is_hidden()  # the other kind's field
    form.get_by_role("button", name="Save and continue").click()
    row = page.locator("#section-reminders tbody tr")
    row.get_by_text("3 days before the closing date").wait_for()
    assert row.locator(".next-run").inner_text().strip() not in ("", "Done", "Off")
    assert row.get_by_text("2 emails").is_visible()
    assert row.get_by_text("2 to candidates · 2 applications").is_visible()

    # A decision email held for review.
    page.locator("#section-status_changed").get_by_role(
        "link", name="Create an automatic email").click()
    trigger_form = page.locator("#trigger-form-status_changed")
    trigger_form.get_by_label("Email template").select_option(label="Decision")
    trigger_form.get_by_label("When the status becomes").select_option(label="Accepted")
    trigger_form.get_by_label("Hold for review: a manager releases them").check()
    trigger_form.get_by_role("button", name="Save and continue").click()
    page.locator("#section-status_changed").get_by_text("Held for review").wait_for()

    # The decisions: both submitted applications accepted.
    page.goto(f"/applications/campaigns/{campaign}")
    page.locator("#application-filters").get_by_label("Status").select_option(label="Submitted")
    page.get_by_text("2 applications match.").wait_for()
    page.get_by_label("All 2 applications matching this filter").check()
    page.locator("#bulk-form").get_by_label("New status").select_option(label="Accepted")
    page.get_by_role("button", name="Preview the change").click()
    page.locator("#bulk-confirm-panel").get_by_role("button", name="Apply the change").click()
    page.get_by_text("2 applications moved to Accepted. 2 emails held for review.").wait_for()
    drain_once(app)
    assert smtp.messages == []  # held: nothing left

    page.goto(f"/campaigns/{campaign}/emails")
    held = page.locator("#section-held")
    held.get_by_text("2 emails").first.wait_for()
    held.get_by_text("Sample:").click()
    held.get_by_role("button", name="Release all 2 emails").click()
    page.get_by_text("2 held emails released.").wait_for()
    held.get_by_text("No email is held.").wait_for()
    page.locator("#trigger-history").get_by_text("2 emails · Decision →").wait_for()

    drain_once(app)
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == [
        "submitted0@example.org", "submitted1@example.org"]
    assert all(m["Subject"].endswith(": Accepted") for m in smtp.messages)

    # Three days before closing, the cron job sends the reminder to the drafts.
    smtp.reset()
    clock.advance(days=7, hours=1)
    jobs_reminders.run_due(app)
    drain_once(app)
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == [
        "draft0@example.org", "draft1@example.org"]
    assert smtp.messages[0]["Subject"] == "Only a few days left for Ocean grants"
    assert errors == [], errors
