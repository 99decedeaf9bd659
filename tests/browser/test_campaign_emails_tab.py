"""The Emails tab end to end, in French, as the reference product's help page describes it."""

import re

import pytest
import sqlalchemy as sa

from tests import factories
from tests.factories import PASSWORD
from webapp.core import clock
from webapp.extensions import db as _db
from webapp.models import Campaign, EventType, Trigger
from webapp.services import campaigns

pytestmark = pytest.mark.browser


def test_a_manager_configures_automatic_emails(page, app, users):
    with app.app_context():
        now = clock.now()
        campaign = campaigns.create_campaign(None, "Bourses 2027", now,
                                             now.replace(year=now.year + 1))
        factories.make_template(name="Lettre de décision")
        _db.session.commit()
        campaign_id = campaign.id

    page.goto("/auth/login")
    page.get_by_label("Email").fill("manager@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Français").click()

    # Campagnes d'appel → a campaign → Modifier → Emails
    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Campagnes d'appel").click()
    page.get_by_role("link", name="Bourses 2027").click()
    page.get_by_role("link", name="Modifier").click()
    page.get_by_role("navigation", name="Édition de la campagne").get_by_role(
        "link", name="E-mails").click()
    page.wait_for_url(re.compile(rf"/campaigns/{campaign_id}/emails$"))

    page.evaluate("window.noReload = true")  # gone if any step below reloads the page
    candidate = page.locator("#section-submitted")
    manager = page.locator("#section-status_changed")
    assert candidate.get_by_role("heading", name="Action du candidat").is_visible()
    assert manager.get_by_role("heading", name="Action du gestionnaire / évaluateur").is_visible()
    assert candidate.get_by_text("Accusé de réception par défaut").is_visible()

    # Candidate action: a second email, to the candidate and the managers.
    candidate.get_by_role("link", name="Créer un e-mail automatique").click()
    candidate.get_by_label("Modèle d'e-mail").select_option(label="Lettre de décision")
    candidate.get_by_label("Les gestionnaires de la campagne").check()
    candidate.get_by_role("button", name="Sauvegarder et continuer").click()
    decision_row = candidate.locator("tr", has_text="Lettre de décision")
    decision_row.wait_for()
    assert candidate.locator("form.trigger-form").count() == 0
    assert page.get_by_text("E-mail automatique enregistré.").is_visible()

    # Manager action: the status is required, then given.
    manager.get_by_role("link", name="Créer un e-mail automatique").click()
    manager.get_by_label("Modèle d'e-mail").select_option(label="Lettre de décision")
    manager.get_by_role("button", name="Sauvegarder et continuer").click()
    error = manager.get_by_text("Choisissez le statut qui déclenche cet e-mail.")
    error.wait_for()
    assert manager.get_by_label("Quand le statut devient").get_attribute(
        "aria-invalid") == "true"
    manager.get_by_label("Quand le statut devient").select_option(label="Accepté")
    manager.get_by_role("button", name="Sauvegarder et continuer").click()
    manager.get_by_text("Quand le statut devient Accepté").wait_for()
    assert manager.locator("form.trigger-form").count() == 0

    # The history follows without a reload.
    page.locator("#trigger-history").get_by_text("e-mail automatique créé").first.wait_for()

    # Switch the candidate-action email off.
    switch = decision_row.get_by_role("switch")
    assert switch.get_attribute("aria-checked") == "true"
    switch.click()
    page.locator("#section-submitted tr", has_text="Lettre de décision").get_by_role(
        "switch").and_(page.locator("[aria-checked=false]")).wait_for()

    assert page.evaluate("window.noReload") is True

    with app.app_context():
        rows = _db.session.scalars(sa.select(Trigger).where(
            Trigger.campaign_id == campaign_id).order_by(Trigger.id)).all()
        assert [(t.event, t.active) for t in rows] == [
            (EventType.SUBMITTED, True), (EventType.SUBMITTED, False),
            (EventType.STATUS_CHANGED, True)]
        assert rows[1].to_candidate and rows[1].to_managers
        assert rows[2].to_status.code == "accepted"

    # Delete, after confirming.
    page.once("dialog", lambda dialog: dialog.accept())
    manager.get_by_role("button", name="Supprimer").click()
    manager.get_by_text("Aucun e-mail automatique pour l'instant.").wait_for()
    with app.app_context():
        assert _db.session.get(Trigger, rows[2].id) is None

    # A new campaign comes with the default acknowledgement.
    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Campagnes d'appel").click()
    page.get_by_role("link", name="Nouvelle campagne").click()
    page.get_by_label("Intitulé").fill("Résidences 2028")
    page.get_by_label("Ouverture le").fill("2027-09-01T09:00")
    page.get_by_label("Clôture le").fill("2027-12-01T18:00")
    page.get_by_role("button", name="Créer la campagne").click()
    page.get_by_text("Campagne créée.").wait_for()
    section = page.locator("#section-submitted")
    assert section.get_by_text("Accusé de réception par défaut").is_visible()
    assert section.get_by_role("switch").get_attribute("aria-checked") == "true"
    with app.app_context():
        new = _db.session.scalars(sa.select(Campaign).where(
            Campaign.label == "Résidences 2028")).one()
        assert _db.session.scalars(sa.select(Trigger).where(
            Trigger.campaign_id == new.id)).one().is_default_acknowledgement
