"""The one answer to a POST that succeeded: 303 for a plain form, a header htmx follows for
htmx (a redirect would be followed inside its request and swapped into the old page)."""

import json

from webapp.web.redirects import see_other


def test_a_plain_form_gets_303(app):
    with app.test_request_context("/x", method="POST"):
        response = see_other("/next")
    assert (response.status_code, response.headers["Location"]) == (303, "/next")


def test_htmx_loads_the_whole_page(app):
    with app.test_request_context("/x", method="POST", headers={"HX-Request": "true"}):
        response = see_other("/next", trigger="changed")
    assert response.status_code == 200 and "Location" not in response.headers
    assert response.headers["HX-Redirect"] == "/next"
    assert json.loads(response.headers["HX-Trigger"]) == {"changed": None}


def test_htmx_loads_the_target_into_one_element(app):
    with app.test_request_context("/x", method="POST", headers={"HX-Request": "true"}):
        response = see_other("/list", into="#list")
    assert json.loads(response.headers["HX-Location"]) == {
        "path": "/list", "target": "#list", "swap": "outerHTML"}
