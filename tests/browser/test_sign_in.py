import pytest

from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def test_manager_signs_in_and_sees_the_menu_in_french(page, users):
    page.goto("/auth/login")
    page.get_by_label("Email").fill("manager@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Français").click()
    menu = page.get_by_role("navigation", name="Menu principal")
    assert menu.get_by_role("link", name="Campagnes d'appel").is_visible()
    assert menu.get_by_role("link", name="Modèles d'e-mail").is_visible()
    assert menu.get_by_role("link", name="Boîte d'envoi").count() == 0


def test_wrong_password_shows_the_error_next_to_the_field(page, users):
    page.goto("/auth/login")
    page.get_by_label("Email").fill("manager@example.org")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_text("Unknown email or wrong password.").is_visible()
    assert page.get_by_label("Password").get_attribute("aria-invalid") == "true"
