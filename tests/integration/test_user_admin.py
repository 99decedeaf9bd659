"""The administrators' Users screen: list and search, invite (the invitation email arrives),
change roles, deactivate (sessions end) and reactivate; every change audited, every route for
administrators only."""

import pytest
import sqlalchemy as sa

from tests import factories
from tests.account_support import received_link
from tests.factories import PASSWORD
from webapp.extensions import db as _db
from webapp.models import AuditEntry, Role, User
from webapp.services import sessions

ROUTES = [("GET", "/users/"), ("GET", "/users/?q=ada"), ("GET", "/users/invite"),
          ("POST", "/users/invite"), ("GET", "/users/{user}"), ("POST", "/users/{user}"),
          ("POST", "/users/{user}/deactivate"), ("POST", "/users/{user}/reactivate")]


def _user(email):
    return _db.session.scalars(sa.select(User).where(User.email == email)).one()


@pytest.fixture
def ada(app, users):
    with app.app_context():
        user = factories.make_user(Role.CANDIDATE, email="ada@example.org",
                                   first_name="Ada", last_name="Lovelace")
        _db.session.commit()
        return user.id


@pytest.mark.parametrize("role", ["manager", "evaluator", "candidate"])
def test_only_administrators_reach_the_users_screen(client, auth, ada, role):
    auth.login_as(role)
    for method, path in ROUTES:
        response = client.open(path.format(user=ada), method=method,
                               data={"roles": ["admin"]} if method == "POST" else None)
        assert response.status_code == 403, (method, path)


def test_anonymous_visitors_sign_in_first(client, ada):
    for method, path in ROUTES:
        response = client.open(path.format(user=ada), method=method)
        assert response.status_code in (302, 303) and "/auth/login" in response.location


def test_the_list_searches_by_name_and_address_and_filters_by_role(client, auth, ada):
    auth.login_as("admin")
    page = client.get("/users/?q=lovel").get_data(as_text=True)
    assert "ada@example.org" in page and "manager@example.org" not in page
    assert "1 account." in page
    page = client.get("/users/?q=ADA%40example").get_data(as_text=True)
    assert "Ada Lovelace" in page
    page = client.get("/users/?role=manager").get_data(as_text=True)
    assert "manager@example.org" in page and "ada@example.org" not in page
    htmx = client.get("/users/?q=%25", headers={"HX-Request": "true"})
    assert htmx.status_code == 200 and b"<html" not in htmx.data and b"0 accounts." in htmx.data


def test_an_admin_invites_someone_who_receives_the_link(app, client, auth, smtp, users):
    auth.login_as("admin")
    refused = client.post("/users/invite", data={"email": "not an address", "first_name": "Eva",
                                                 "last_name": "Durand", "locale": "fr"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "Enter a valid email address." in html and "Choose at least one role." in html
    done = client.post("/users/invite", data={
        "email": "Eva@Example.org", "first_name": "Eva", "last_name": "Durand",
        "roles": ["evaluator"], "locale": "fr"})
    assert done.status_code == 303
    assert "Invitation sent to eva@example.org." in client.get(done.location).get_data(
        as_text=True)
    link, message = received_link(app, smtp, "eva@example.org", "/auth/invitation/")
    assert message["Subject"] == "Votre compte sur Missive"
    with app.app_context():
        eva = _user("eva@example.org")
        assert eva.roles == {Role.EVALUATOR}
        entry = _db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == "account.invited")).one()
        assert entry.actor_id == users["admin"] and entry.object_id == eva.id


def test_roles_change_and_an_admin_keeps_their_own(app, client, auth, ada, users):
    auth.login_as("admin")
    assert client.post(f"/users/{ada}", data={"roles": []}).status_code == 422
    assert client.post(f"/users/{ada}", data={"roles": ["nobody"]}).status_code == 422
    done = client.post(f"/users/{ada}", data={"roles": ["evaluator", "candidate"]})
    assert done.status_code == 303
    own = client.post(f"/users/{users['admin']}", data={"roles": ["manager"]})
    assert own.status_code == 422
    assert "You cannot remove your own administrator role" in own.get_data(as_text=True)
    with app.app_context():
        assert _db.session.get(User, ada).roles == {Role.EVALUATOR, Role.CANDIDATE}
        assert _db.session.get(User, users["admin"]).roles == {Role.ADMIN}
        entry = _db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == "account.roles_changed")).one()
        assert entry.summary == "ada@example.org: candidate ⇒ candidate, evaluator"
    assert "roles changed" in client.get(f"/users/{ada}").get_data(as_text=True)


def test_deactivating_ends_the_sessions_and_reactivating_lets_them_back(app, client, auth,
                                                                        ada, users):
    other = app.test_client()
    other.post("/auth/login", data={"email": "ada@example.org", "password": PASSWORD})
    assert other.get("/my/applications").status_code == 200
    auth.login_as("admin")
    assert client.post(f"/users/{users['admin']}/deactivate").status_code == 303
    with app.app_context():
        assert _db.session.get(User, users["admin"]).active  # never oneself
    done = client.post(f"/users/{ada}/deactivate")
    assert "Account deactivated; 1 session ended." in client.get(done.location).get_data(
        as_text=True)
    assert other.get("/my/applications").status_code in (302, 303)  # signed out
    with app.app_context():
        user = _db.session.get(User, ada)
        assert not user.active and sessions.count(user) == 0
    assert other.post("/auth/login", data={"email": "ada@example.org",
                                           "password": PASSWORD}).status_code != 303
    client.post(f"/users/{ada}/reactivate")
    with app.app_context():
        assert _db.session.get(User, ada).active
        actions = [e.action for e in _db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.object_id == ada, AuditEntry.object_type == "user"))]
        assert {"account.deactivated", "account.reactivated"} <= set(actions)
    signed_in = other.post("/auth/login", data={"email": "ada@example.org",
                                                "password": PASSWORD})
    assert signed_in.status_code in (302, 303)


def test_a_missing_user_is_404(client, auth):
    auth.login_as("admin")
    assert client.get("/users/999999").status_code == 404
    assert client.post("/users/999999/deactivate").status_code == 404
