"""`next` targets: sign-in, sign-up and the language switch stay on this site, whatever the
encoding trick, and never answer 500."""

import pytest

from tests.factories import PASSWORD
from webapp.web.redirects import safe_next

HOSTILE = [
    "//evil.example",
    "//evil.example/x",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "/%09/evil.example",
    "/\t/evil.example",
    "/%5Cevil.example",
    "/%5C%5Cevil.example",
    "/%2F/evil.example",
    "/%2f%2fevil.example",
    "/%252F%252Fevil.example",
    "%2F%2Fevil.example",
    "/%0d%0aSet-Cookie:x=1",
    "/\r\nSet-Cookie: x=1",
    "/a\nb",
    "/%00",
    "/\x00x",
    "/\x7f/evil.example",
    "https://evil.example",
    "http:/evil.example",
    "javascript:alert(1)",
    " //evil.example",
    "evil.example",
    "",
    "/" + "a" * 3000,
]
# Values that every query string refuses before any view runs (a 422 page, no redirect).
REFUSED_IN_ANY_QUERY = {"/\x00x", "/" + "a" * 3000}


def assert_stays(response, target):
    if target in REFUSED_IN_ANY_QUERY:
        assert response.status_code == 422 and "Location" not in response.headers
    else:
        assert response.status_code == 303
        assert response.headers["Location"] == "/"


SAME_SITE = ["/", "/campaigns/", "/my/applications/3?tab=emails",
             "/applications/?q=caf%C3%A9&status=2", "/outbox/?q=a%20b"]


@pytest.mark.parametrize("target", HOSTILE)
def test_the_helper_refuses_every_form_that_leaves_the_site(target):
    assert safe_next(target, "/home") == "/home"


@pytest.mark.parametrize("target", SAME_SITE)
def test_the_helper_keeps_same_site_paths(target):
    assert safe_next(target) == target


@pytest.mark.parametrize("target", HOSTILE)
def test_sign_in_never_leaves_the_site(client, users, target):
    response = client.post("/auth/login", query_string={"next": target},
                           data={"email": "manager@example.org", "password": PASSWORD})
    assert_stays(response, target)


@pytest.mark.parametrize("target", HOSTILE)
def test_sign_up_never_leaves_the_site(client, target):
    response = client.post("/auth/signup", query_string={"next": target}, data={
        "first_name": "Ana", "last_name": "Lopez", "email": "ana@example.org",
        "password": "a-strong-pass-1", "confirm": "a-strong-pass-1"})
    if target in REFUSED_IN_ANY_QUERY:
        return assert_stays(response, target)
    assert response.headers["Location"].startswith("/auth/login")  # the next is kept for it
    signed_in = client.post(response.headers["Location"],
                            data={"email": "ana@example.org", "password": "a-strong-pass-1"})
    assert_stays(signed_in, target)


@pytest.mark.parametrize("target", HOSTILE)
def test_the_language_switch_never_leaves_the_site(client, target):
    response = client.post("/language", data={"locale": "fr", "next": target})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_same_site_targets_are_followed(client, users):
    response = client.post("/auth/login", query_string={"next": "/applications/?status=2"},
                           data={"email": "manager@example.org", "password": PASSWORD})
    assert response.headers["Location"] == "/applications/?status=2"
    response = client.post("/language", data={"locale": "fr", "next": "/campaigns/?q=x"})
    assert response.headers["Location"] == "/campaigns/?q=x"
