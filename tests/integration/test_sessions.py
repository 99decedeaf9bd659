"""Sessions end on the server: sign-out, a new password, deactivation, idle and absolute
timeouts; the session and the CSRF token are renewed at sign-in."""

import re

import sqlalchemy as sa

from tests import factories
from tests.outbox_support import clock_fixture  # noqa: F401
from webapp.extensions import db
from webapp.models import User, UserSession

SESSION_COOKIE = "session"


def _cookie(client) -> str:
    return client.get_cookie(SESSION_COOKIE).value


def test_a_replayed_cookie_is_refused_after_sign_out(app, client, auth):
    auth.login_as("manager")
    copied = _cookie(client)
    assert client.get("/campaigns/").status_code == 200
    auth.logout()

    thief = app.test_client()
    thief.set_cookie(SESSION_COOKIE, copied)
    response = thief.get("/campaigns/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_signing_out_in_one_browser_leaves_the_others_signed_in(app, client, auth):
    other = app.test_client()
    other.post("/auth/login", data={"email": "manager@example.org",
                                    "password": factories.PASSWORD})
    auth.login_as("manager")
    auth.logout()
    assert other.get("/campaigns/").status_code == 200


def test_deactivation_ends_every_session_at_once(app, client, auth):
    auth.login_as("manager")
    copied = _cookie(client)
    result = app.test_cli_runner().invoke(args=["deactivate-user", "manager@example.org"])
    assert result.exit_code == 0, result.output
    assert client.get("/campaigns/").status_code == 302
    thief = app.test_client()
    thief.set_cookie(SESSION_COOKIE, copied)
    assert thief.get("/campaigns/").status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(UserSession.id))) == 0


def test_an_idle_session_ends(make_app, users, clock):
    app = make_app(SESSION_IDLE_MINUTES=30)
    client = app.test_client()
    client.post("/auth/login", data={"email": "manager@example.org",
                                     "password": factories.PASSWORD})
    clock.advance(minutes=29)
    assert client.get("/campaigns/").status_code == 200  # activity keeps it alive
    clock.advance(minutes=29)
    assert client.get("/campaigns/").status_code == 200
    clock.advance(minutes=31)
    assert client.get("/campaigns/").status_code == 302


def test_a_session_ends_after_its_lifetime_even_when_busy(make_app, users, clock):
    app = make_app(SESSION_MAX_HOURS=2, SESSION_IDLE_MINUTES=60)
    client = app.test_client()
    client.post("/auth/login", data={"email": "manager@example.org",
                                     "password": factories.PASSWORD})
    for _ in range(3):
        clock.advance(minutes=35)
        assert client.get("/campaigns/").status_code == 200
    clock.advance(minutes=20)
    assert client.get("/campaigns/").status_code == 302


def test_sign_in_renews_the_session_and_the_csrf_token(make_app, users):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    login_page = client.get("/auth/login").get_data(as_text=True)
    before = re.search(r'"X-CSRFToken": "([^"]+)"', login_page).group(1)
    cookie_before = _cookie(client)
    client.post("/auth/login", headers={"X-CSRFToken": before},
                data={"email": "manager@example.org", "password": factories.PASSWORD})
    after_page = client.get("/campaigns/").get_data(as_text=True)
    after = re.search(r'"X-CSRFToken": "([^"]+)"', after_page).group(1)
    assert after != before
    # The token seen before signing in is worthless now.
    refused = client.post("/language", data={"locale": "en", "next": "/"},
                          headers={"X-CSRFToken": before})
    assert refused.status_code == 400
    accepted = client.post("/language", data={"locale": "en", "next": "/"},
                           headers={"X-CSRFToken": after})
    assert accepted.status_code == 303
    # A cookie from before signing in does not carry the signed-in session.
    stranger = app.test_client()
    stranger.set_cookie(SESSION_COOKIE, cookie_before)
    assert stranger.get("/campaigns/").status_code == 302


def test_the_session_table_keeps_no_usable_token(app, client, auth):
    auth.login_as("manager")
    with app.app_context():
        row = db.session.scalar(sa.select(UserSession))
        user = db.session.scalar(sa.select(User).where(User.email == "manager@example.org"))
        assert row.user_id == user.id
    # Only a hash is stored: forging a cookie from it is refused.
    from flask.sessions import SecureCookieSessionInterface

    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    forged = serializer.dumps({"_user_id": str(row.user_id), "sid": row.token_hash,
                               "_fresh": True})
    thief = app.test_client()
    thief.set_cookie(SESSION_COOKIE, forged)
    assert thief.get("/campaigns/").status_code == 302


def test_the_worker_purges_expired_sessions_and_forgotten_failures(make_app, users, clock):
    from jobs import accounts
    from webapp.models import SignInThrottle

    app = make_app(SESSION_IDLE_MINUTES=30)
    stale, live = app.test_client(), app.test_client()
    stale.post("/auth/login", data={"email": "manager@example.org",
                                    "password": factories.PASSWORD})
    stale.post("/auth/login", data={"email": "ghost@example.org", "password": "wrong one 1"},
               environ_base={"REMOTE_ADDR": "10.0.0.5"})
    clock.advance(hours=25)
    live.post("/auth/login", data={"email": "admin@example.org",
                                   "password": factories.PASSWORD})
    live.post("/auth/login", data={"email": "evaluator@example.org", "password": "wrong 2"})
    assert accounts.purge(app) == 1 + 2  # a session; the ghost's and 10.0.0.5's counts
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(UserSession.id))) == 1
        keys = db.session.scalars(sa.select(SignInThrottle.key)).all()
        assert sorted(keys) == ["account:evaluator@example.org", "address:127.0.0.1"]
    assert live.get("/campaigns/").status_code == 200


def test_changing_the_password_ends_the_other_sessions_and_keeps_this_one(app, client, auth):
    other = app.test_client()
    other.post("/auth/login", data={"email": "manager@example.org",
                                    "password": factories.PASSWORD})
    auth.login_as("manager")
    copied = _cookie(client)
    page = client.get("/auth/password")
    assert page.status_code == 200 and b"Change my password" in page.data

    wrong = client.post("/auth/password", data={"current": "not it at all",
                                                "password": "violet kettle orbit 7",
                                                "confirm": "violet kettle orbit 7"})
    assert wrong.status_code == 422 and b"This is not your current password." in wrong.data
    weak = client.post("/auth/password", data={"current": factories.PASSWORD,
                                               "password": "password123",
                                               "confirm": "password123"})
    assert weak.status_code == 422
    assert other.get("/campaigns/").status_code == 200  # nothing changed yet

    done = client.post("/auth/password", data={"current": factories.PASSWORD,
                                               "password": "violet kettle orbit 7",
                                               "confirm": "violet kettle orbit 7"})
    assert done.status_code == 303
    assert client.get("/campaigns/").status_code == 200
    assert other.get("/campaigns/").status_code == 302
    thief = app.test_client()
    thief.set_cookie(SESSION_COOKIE, copied)  # this browser's cookie from before the change
    assert thief.get("/campaigns/").status_code == 302
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "manager@example.org"))
        assert user.check_password("violet kettle orbit 7")


def test_changing_the_password_needs_a_session(client):
    response = client.get("/auth/password")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")
