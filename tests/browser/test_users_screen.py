"""The Users screen as an administrator uses it, keyboard only and in French: search, invite,
change roles, deactivate. axe-core and the house rules check every state."""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests import factories
from tests.factories import PASSWORD
from webapp.extensions import db as _db
from webapp.models import Role, User

pytestmark = pytest.mark.browser


@pytest.fixture
def people(app, users):
    with app.app_context():
        factories.make_user(Role.CANDIDATE, email="ada@example.org", first_name="Ada",
                            last_name="Lovelace")
        for user in _db.session.scalars(sa.select(User)):
            user.locale = "fr"
        _db.session.commit()


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844},
                                      {"width": 1280, "height": 900}], ids=["phone", "desktop"])
def test_an_admin_manages_accounts_from_the_users_screen(watched_page, app, people, viewport):
    page = watched_page(viewport=viewport, locale="fr-FR")
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto("/auth/login")
    page.get_by_label("E-mail").fill("admin@example.org")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_label("Mot de passe").press("Enter")
    page.wait_for_url(lambda url: "/auth/login" not in url)
    page.goto("/users/")
    expect(page.get_by_role("heading", name="Utilisateurs")).to_be_visible()

    search = page.get_by_label("Rechercher", exact=True)
    search.focus()
    search.press_sequentially("lovel")
    results = page.locator("#users-results")
    expect(results.locator("tbody tr")).to_have_count(1)
    expect(results).to_contain_text("1 compte.")
    # Leaving the search box sends the search once more (its change event) and swaps the
    # results in again: the user presses Enter on the link once that answer is in.
    results.get_by_role("link", name="Ada Lovelace").focus()
    expect(page.locator("#users-filter.htmx-request")).to_have_count(0)
    results.get_by_role("link", name="Ada Lovelace").press("Enter")

    page.wait_for_url(re.compile(r"/users/\d+$"))
    roles = page.get_by_role("group", name="Rôles")
    roles.get_by_label("Évaluateur").press("Space")
    page.get_by_role("button", name="Enregistrer les rôles").press("Enter")
    expect(page.get_by_text("Rôles enregistrés.")).to_be_visible()
    expect(page.get_by_role("group", name="Rôles").get_by_label("Évaluateur")).to_be_checked()
    page.get_by_role("button", name="Désactiver le compte").press("Enter")
    expect(page.get_by_text("Compte désactivé ; 0 session terminée.")).to_be_visible()
    expect(page.get_by_role("button", name="Réactiver le compte")).to_be_visible()
    expect(page.get_by_text("rôles modifiés")).to_be_visible()

    page.goto("/users/invite")
    page.get_by_label("E-mail").fill("eva@example.org")
    page.get_by_label("Prénom").fill("Eva")
    page.get_by_label("Nom", exact=True).fill("Durand")
    page.get_by_role("button", name="Envoyer l'invitation").press("Enter")
    expect(page.get_by_text("Choisissez au moins un rôle.")).to_be_visible()
    page.get_by_label("Gestionnaire").check()
    page.get_by_role("button", name="Envoyer l'invitation").press("Enter")
    expect(page.get_by_text("Invitation envoyée à eva@example.org.")).to_be_visible()
    with app.app_context():
        eva = _db.session.scalars(sa.select(User).where(User.email == "eva@example.org")).one()
        assert eva.roles == {Role.MANAGER}
        ada = _db.session.scalars(sa.select(User).where(User.email == "ada@example.org")).one()
        assert not ada.active and ada.roles == {Role.CANDIDATE, Role.EVALUATOR}
