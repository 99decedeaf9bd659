"""Every main screen, with data in every state, in French and in English, at 1280 px and on a
phone: the harness's house rules (browser_rules.js: no sideways scrolling at 390 px, no English
on a French page, focus kept by swaps) and axe-core check each page as it loads."""

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests import factories
from tests.browser_fixtures import check_accessibility
from tests.factories import PASSWORD
from tests.outbox_support import queue_messages
from webapp.core import clock
from webapp.extensions import db as _db
from webapp.models import EventType, OutboxState, Role, SkippedRecipient, User
from webapp.models.outbox import OutboxMessage
from webapp.services import reminders

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def world(app, users):
    """A campaign with applications in several statuses, automatic emails (one holding its
    emails for review), reminders on and off, and Outbox rows in every state."""
    with app.app_context():
        manager = _db.session.scalars(sa.select(User).where(
            User.email == "manager@example.org")).one()
        campaign = factories.make_campaign(
            label="Bourses de recherche pour les océans et les littoraux 2027", closes_in_days=10)
        ack = factories.make_trigger(campaign, factories.make_template(
            name="Accusé de réception très détaillé"), event=EventType.SUBMITTED)
        decision_template = factories.make_template(name="Décision du jury")
        decision = factories.make_trigger(campaign, decision_template, to_status="accepted",
                                          hold_for_review=True)
        factories.make_trigger(campaign, decision_template, to_status="rejected", active=False)
        candidate = factories.make_user(Role.CANDIDATE, email="ada@example.org", locale="fr")
        draft = factories.make_application(campaign, candidate, title="Les herbiers marins")
        submitted = None
        for n in range(4):
            submitted = factories.make_application(
                campaign, status_code=("submitted", "accepted", "rejected", "submitted")[n],
                title=f"Un projet au titre assez long numéro {n}")
        _db.session.commit()
        closing = reminders.save_reminder(manager, campaign, None, reminders.ReminderInput(
            kind="before_closing", template_id=ack.template_id, offset_amount=7,
            to_candidate=True), locale="fr")
        reminders.save_reminder(manager, campaign, None, reminders.ReminderInput(
            kind="in_status", template_id=decision_template.id,
            status_id=factories.status("submitted").id, offset_amount=3,
            repeat_every_days=7, max_times=3, to_evaluators=True), locale="fr")
        reminders.set_active(manager, campaign, closing, False, locale="fr")
        reminders.set_active(manager, campaign, closing, True, locale="fr")
        long = "someone.with.a.rather.long.address"
        queue_messages(2, prefix=long, campaign_id=campaign.id, trigger_id=ack.id)
        queue_messages(1, prefix="sent", campaign_id=campaign.id, trigger_id=ack.id)
        queue_messages(1, prefix="failed", campaign_id=campaign.id)
        queue_messages(1, prefix="cancelled", campaign_id=campaign.id)
        # Rows the application's page lists, with the reasons the platform writes.
        queue_messages(1, prefix="unrendered", campaign_id=campaign.id,
                       application_id=submitted.id, trigger_id=ack.id,
                       failed_reason="Rendering failed: division par zéro")
        queue_messages(1, prefix="superseded", campaign_id=campaign.id,
                       application_id=submitted.id, trigger_id=ack.id)
        queue_messages(1, prefix="bounced", campaign_id=campaign.id,
                       application_id=submitted.id, trigger_id=ack.id)
        for n, (kind, reason) in enumerate((("managers", "nobody"), ("candidate", "inactive"),
                                            ("evaluators", "no_access"))):
            _db.session.add(SkippedRecipient(
                application_id=submitted.id, trigger_id=ack.id, event_type="submitted",
                event_id=n + 1, kind=kind, reason=reason,
                email="" if reason == "nobody" else f"skipped{n}@example.org"))
        queue_messages(2, prefix="held", campaign_id=campaign.id, trigger_id=decision.id,
                       template_id=decision_template.id)
        for prefix, values in (
                ("sent", {"state": OutboxState.SENT, "attempts": 1, "sent_at": clock.now()}),
                ("failed", {"state": OutboxState.FAILED, "attempts": 6,
                            "last_error": "550 5.1.1 mailbox unavailable"}),
                ("cancelled", {"state": OutboxState.CANCELLED}),
                ("held", {"state": OutboxState.HELD}),
                ("superseded", {"state": OutboxState.CANCELLED, "cancel_reason":
                                "Superseded by a later decision: the application moved to "
                                "Accepted."}),
                ("bounced", {"state": OutboxState.SUPPRESSED,
                             "last_error": "550 5.1.1 mailbox unavailable"})):
            _db.session.execute(sa.update(OutboxMessage).where(
                OutboxMessage.to_addr.like(f"{prefix}%")).values(**values))
        for user in _db.session.scalars(sa.select(User)):
            user.locale = "fr"
        _db.session.commit()
        return {"campaign": campaign.id, "draft": draft.id, "candidate": candidate.id,
                "submitted": submitted.id, "template": decision_template.id,
                "reminder": closing.id, "held_trigger": decision.id}


SIGN_IN_WORDS = {"fr": ("E-mail", "Mot de passe", "Se connecter"),
                 "en": ("Email", "Password", "Sign in")}


def _sign_in(page, email, language="fr"):
    address, password, button = SIGN_IN_WORDS[language]
    page.goto("/auth/login")
    page.get_by_label(address).fill(email)
    page.get_by_label(password).fill(PASSWORD)
    page.get_by_role("button", name=button).click()
    page.wait_for_url(lambda url: "/auth/login" not in url)


def _speak(app, language):
    with app.app_context():
        for user in _db.session.scalars(sa.select(User)):
            user.locale = language
        _db.session.commit()


def _visit(page, paths, sizes=(PHONE, DESKTOP)):
    """Load each page, and check it (house rules and axe) at each window size in turn: the
    screens' layout follows the window size alone (CSS), so one load serves every size."""
    for path in paths:
        page.set_viewport_size(sizes[0])
        page.goto(path)
        page.wait_for_load_state("load")
        for n, size in enumerate(sizes):
            if n:
                page.set_viewport_size(size)
            check_accessibility(page)


def _staff_pages(world):
    campaign = world["campaign"]
    return ["/campaigns/", f"/campaigns/{campaign}", f"/campaigns/{campaign}/emails",
            f"/applications/campaigns/{campaign}", f"/applications/{world['submitted']}",
            "/email-templates/", f"/email-templates/{world['template']}", "/statuses/",
            "/outbox/", "/outbox/?state=cancelled", "/outbox/?state=failed", "/users/",
            "/users/invite", f"/users/{world['candidate']}", "/brand/"]


def test_the_admins_screens_in_french(watched_page, world):
    page = watched_page(viewport=PHONE, locale="fr-FR")
    _sign_in(page, "admin@example.org")
    _visit(page, _staff_pages(world) + ["/outbox/?state=suppressed"])


def test_the_admins_screens_in_english_on_a_phone(app, watched_page, world):
    _speak(app, "en")
    page = watched_page(viewport=PHONE, locale="en-GB")
    _sign_in(page, "admin@example.org", "en")
    _visit(page, _staff_pages(world), sizes=(PHONE,))


@pytest.mark.parametrize("language", ["fr", "en"])
def test_previewing_and_testing_automatic_emails(app, watched_page, world, language):
    """A reminder's preview, a held trigger's preview, and the Emails tab after "Send me a
    test" on a reminder, pressed from the keyboard: focus stays on the button. On a phone and
    at 1280 px."""
    _speak(app, language)
    page = watched_page(viewport=PHONE, locale={"fr": "fr-FR", "en": "en-GB"}[language])
    _sign_in(page, "manager@example.org", language)
    campaign = world["campaign"]
    _visit(page, [f"/campaigns/{campaign}/reminders/{world['reminder']}/preview",
                  f"/campaigns/{campaign}/triggers/{world['held_trigger']}/preview"])
    for size in (PHONE, DESKTOP):
        _visit(page, [f"/campaigns/{campaign}/emails"], sizes=(size,))
        expect(page.locator("#messages")).not_to_contain_text("manager@example.org")
        button = page.locator(f"#test-reminder-{world['reminder']}")
        button.focus()
        page.keyboard.press("Enter")
        expect(page.locator("#messages")).to_contain_text("manager@example.org")
        expect(button).to_be_focused()
        page.evaluate("() => window.__rulesCheck()")


def test_the_candidates_screens_in_french(watched_page, world):
    page = watched_page(viewport=PHONE, locale="fr-FR")
    _visit(page, ["/apply/", "/auth/login", "/auth/signup"])
    _sign_in(page, "ada@example.org")
    _visit(page, ["/apply/", "/my/applications", f"/my/applications/{world['draft']}"])
