import html
import re

import pytest
import sqlalchemy as sa

from tests.factories import PASSWORD
from webapp.models import User

# Every page of the foundation, and which roles may open it.
STAFF_PAGES = {
    "/campaigns/": {"admin", "manager"},
    "/email-templates/": {"admin", "manager"},
    "/applications/": {"admin", "manager", "evaluator"},
    "/outbox/": {"admin"},
}
ROLES = ["admin", "manager", "evaluator", "candidate"]


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_anonymous_users_are_sent_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", STAFF_PAGES)
def test_each_role_reaches_its_pages_and_is_refused_the_others(auth, client, path, role):
    auth.login_as(role)
    response = client.get(path)
    expected = 200 if role in STAFF_PAGES[path] else 403
    assert response.status_code == expected
    if expected == 403:
        assert b"not allowed" in response.data


def test_sign_in_and_out(auth, client):
    response = auth.login_as("manager")
    assert response.status_code == 303
    assert client.get("/campaigns/").status_code == 200
    auth.logout()
    assert client.get("/campaigns/").status_code == 302


def test_wrong_password_is_refused_next_to_the_field(auth, client):
    response = auth.login("manager@example.org", "wrong password 1")
    assert response.status_code == 422
    assert b"Unknown email or wrong password." in response.data
    assert client.get("/campaigns/").status_code == 302


def test_inactive_account_cannot_sign_in(auth, client, app):
    with app.app_context():
        from webapp.extensions import db

        db.session.scalar(sa.select(User).where(User.email == "manager@example.org")).active = False
        db.session.commit()
    assert auth.login_as("manager").status_code == 422


def test_open_redirect_is_refused(auth, client):
    response = client.post("/auth/login?next=//evil.example/x",
                           data={"email": "manager@example.org", "password": "correct horse 42"})
    assert response.headers["Location"] == "/"


SIGNUP = {"first_name": "Ana", "last_name": "Lopez", "email": "ana@example.org",
          "password": "a-strong-pass-1", "confirm": "a-strong-pass-1"}


def test_candidate_signs_up_then_signs_in(client, app):
    response = client.post("/auth/signup", data=SIGNUP)
    assert response.status_code == 303 and response.headers["Location"] == "/auth/login"
    with app.app_context():
        from webapp.extensions import db

        user = db.session.scalar(sa.select(User).where(User.email == "ana@example.org"))
        assert user.roles == {"candidate"}
        assert user.password_hash != SIGNUP["password"]
    assert client.get("/my/applications").status_code == 302
    client.post("/auth/login", data={"email": SIGNUP["email"], "password": SIGNUP["password"]})
    assert client.get("/my/applications").status_code == 200


def test_sign_up_with_a_known_address_answers_the_same_and_tells_its_owner(client, app,
                                                                           users, smtp):
    """Sign-up never says which addresses have an account, whatever their case."""
    from jobs.drain import drain_once

    def answer(email):
        response = client.post("/auth/signup", data=dict(SIGNUP, email=email),
                               follow_redirects=True)
        page = re.sub(r"[\w.-]+\.[\w-]+\.[\w-]{20,}", "TOKEN", response.get_data(as_text=True))
        return response.status_code, page.replace(email, "ADDRESS")

    assert answer("Manager@Example.ORG") == answer("someone-new@example.org")
    with app.app_context():
        from webapp.extensions import db

        manager = db.session.scalar(sa.select(User).where(User.email == "manager@example.org"))
        assert manager.first_name != "Ana" and manager.check_password(PASSWORD)
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == len(users) + 1
    drain_once(app)
    [notice] = smtp.to("manager@example.org")
    assert "tried to sign up with your address" in notice["Subject"]
    body = notice.message.get_body(("plain",)).get_content()
    assert "No account was created and yours did not change." in body
    assert "/auth/forgot" in body
    [confirmation] = smtp.to("someone-new@example.org")
    assert "/auth/confirm/" in confirmation.message.get_body(("plain",)).get_content()


COMMON = b"This password is among the first that attackers try"


@pytest.mark.parametrize("password,message", [
    ("short1", b"Use at least 10 characters."),
    ("password123", COMMON),
    ("1234567890", COMMON),
    ("qwertyuiop", COMMON),
    ("iloveyou12", COMMON),
    ("LopezLopez1", COMMON),  # the person's own name
    ("mot de passe", COMMON),  # French, which zxcvbn's lists lack
    ("Mot de passe 2024 !", COMMON),
    ("soleil-2024-!?", COMMON),
    ("let me in now", COMMON),
    ("Lopez.Ana.2024!!", COMMON),  # the person's names with a suffix, however long
])
def test_sign_up_refuses_a_weak_password_next_to_the_field(client, app, password, message):
    response = client.post("/auth/signup",
                           data=dict(SIGNUP, password=password, confirm=password))
    assert response.status_code == 422
    assert message in response.data
    assert b'id="password-errors"' in response.data
    with app.app_context():
        from webapp.extensions import db

        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_sign_up_refuses_a_newline_in_a_name(client):
    response = client.post("/auth/signup", data=dict(SIGNUP, first_name="Ana\r\nBcc: x@y.z"))
    assert response.status_code == 422
    assert b"Line breaks are not allowed" in response.data


def test_a_post_without_csrf_token_is_refused(make_app, users):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    response = client.post("/auth/login",
                           data={"email": "manager@example.org", "password": "correct horse 42"})
    assert response.status_code == 400
    assert client.get("/campaigns/").status_code == 302


def test_the_csrf_token_from_the_page_is_accepted_in_the_htmx_header(make_app, users):
    import re

    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    response = client.post("/auth/login", headers={"X-CSRFToken": token, "HX-Request": "true"},
                           data={"email": "manager@example.org", "password": "correct horse 42"})
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/"


def test_the_french_ui_says_campagnes_d_appel(auth, client):
    auth.login_as("manager")
    client.post("/language", data={"locale": "fr"})
    page = html.unescape(client.get("/campaigns/").get_data(as_text=True))
    assert "Campagnes d'appel" in page
    assert "Modèles d'e-mail" in page


def test_the_language_follows_the_browser_then_the_choice(client, users):
    assert b"Sign in" in client.get("/auth/login", headers={"Accept-Language": "en"}).data
    assert "Se connecter" in client.get("/auth/login", headers={"Accept-Language": "de"}) \
        .get_data(as_text=True)
    client.post("/language", data={"locale": "fr"})
    assert "Se connecter" in client.get("/auth/login", headers={"Accept-Language": "en"}) \
        .get_data(as_text=True)
