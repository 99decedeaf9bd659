"""Security headers, HTTPS-only cookies, request and field size limits."""

import pytest
import sqlalchemy as sa

from webapp.extensions import db as _db
from webapp.models import Campaign


def test_every_page_carries_the_security_headers(client):
    response = client.get("/auth/login")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy.split(
        "style-src-attr")[0]
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    # Plain HTTP in tests and development: no HSTS, no Secure cookie.
    assert "Strict-Transport-Security" not in response.headers


def test_no_page_has_an_inline_script(client, auth):
    auth.login_as("admin")
    for url in ("/campaigns/", "/email-templates/new", "/outbox/", "/statuses/",
                "/applications/"):
        page = client.get(url).get_data(as_text=True)
        assert "<script>" not in page and " on" + "click=" not in page and "hx-on" not in page
        assert page.count("<script") == page.count('<script src="/static/')


def test_signed_in_pages_are_not_stored_by_caches(client, auth):
    assert "no-store" not in client.get("/auth/login").headers.get("Cache-Control", "")
    auth.login_as("candidate")
    assert client.get("/my/applications").headers["Cache-Control"] == "no-store"


def test_over_https_cookies_are_secure_and_hsts_is_sent(make_app, users):
    app = make_app(PREFERRED_URL_SCHEME="https")
    client = app.test_client()
    response = client.post("/auth/login", data={"email": "admin@example.org",
                                                "password": "correct horse 42"},
                           base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    cookie = next(c for c in response.headers.getlist("Set-Cookie")
                  if c.startswith("session="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_50_mb_body_is_refused_with_a_clear_page_and_not_echoed(client):
    email = "a" * (50 * 1024 * 1024) + "@example.org"
    response = client.post("/auth/login", data={"email": email, "password": "x"})
    assert response.status_code == 413
    assert b"What you sent is too large (at most 2 MB)" in response.data
    assert len(response.data) < 20_000


def test_a_too_long_field_is_refused_next_to_it_and_not_echoed_whole(client):
    response = client.post("/auth/login", data={"email": "a" * 100_000 + "@example.org",
                                                "password": "x"})
    assert response.status_code in (200, 422)
    assert b"Field cannot be longer than 254 characters." in response.data
    assert len(response.data) < 20_000


def test_a_too_long_field_is_a_422_next_to_it_and_nothing_is_saved(app, client, auth):
    auth.login_as("manager")
    response = client.post("/campaigns/new", data={
        "label": "x" * 201, "description": "d", "opens_at": "2030-01-01T00:00",
        "closes_at": "2030-02-01T00:00", "published": "y"})
    assert response.status_code == 422
    assert b"Field cannot be longer than 200 characters." in response.data
    with app.app_context():
        assert _db.session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 0


@pytest.mark.parametrize("query", ["q=" + "x" * 1001, "q=%00", "&".join(f"a{i}=1"
                                                                       for i in range(60))])
def test_an_oversized_or_binary_query_string_is_a_422_page(client, auth, query):
    auth.login_as("manager")
    response = client.get("/campaigns/?" + query)
    assert response.status_code == 422
    assert b"<h1>422</h1>" in response.data
