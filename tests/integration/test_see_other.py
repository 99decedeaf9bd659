"""The one answer to a POST that succeeded: 303 for a plain form, a header htmx follows for
htmx (a redirect would be followed inside its request and swapped into the old page)."""

import ast
import json
from pathlib import Path

from flask import session

import webapp
from webapp.web.htmx import render_page
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


# The views' idioms, read from their source: a view that answers a POST with `redirect(`
# forgets htmx (the new page would be swapped into the old one) and, with 302, the 303 that
# keeps a reload from posting again.
BLUEPRINTS = Path(webapp.__file__).parent / "blueprints"

# The plain redirects left, each answering before any form is read, with why.
GET_ONLY = {
    ("main/views.py", "home"): "GET /: each person to where their work is",
    ("auth/views.py", "signup"): "already signed in: nothing to sign up for, no form read",
    ("auth/views.py", "confirm"): "GET of the emailed confirmation link",
    ("candidate/views.py", "application"): "staff following a candidate's emailed link, "
                                           "before any form is read: their own view",
    ("candidate/views.py", "receipt"): "GET of a receipt not submitted yet: the draft",
}


def _view_modules():
    for path in sorted(BLUEPRINTS.rglob("*.py")):
        relative = path.relative_to(BLUEPRINTS)
        yield relative.as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def _calls_in(function, name: str) -> bool:
    return any(isinstance(node, ast.Call) and (
        isinstance(node.func, ast.Name) and node.func.id == name
        or isinstance(node.func, ast.Attribute) and node.func.attr == name)
        for node in ast.walk(function))


def test_views_answer_a_post_with_see_other_only():
    plain = set()
    for module, tree in _view_modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and _calls_in(node, "redirect"):
                plain.add((module, node.name))
    assert plain - GET_ONLY.keys() == set(), "use see_other after a POST, or say why not"
    assert GET_ONLY.keys() - plain == set(), "an allowed redirect is gone: drop it from the list"


def test_views_leave_the_partial_or_page_choice_to_render_page():
    """Views never look at htmx's headers: `render_page` chooses fragment or page."""
    sniffing = []
    for module, tree in _view_modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and any(a.name == "is_htmx" for a in node.names):
                sniffing.append(module)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and node.value.lower().startswith("hx-") and "request" in node.value.lower():
                sniffing.append(module)
    assert sniffing == []


def test_a_fragment_for_htmx_and_the_page_or_its_redirect_otherwise(app):
    with app.test_request_context("/x", method="POST", headers={"HX-Request": "true"}):
        fragment = render_page("errors/page.html", "errors/_error.html", see_other="/next",
                               page_message=("Done.", "success"), trigger="changed",
                               status=404, http_status=422)
        assert "_flashes" not in session
    assert fragment.status_code == 422 and "Location" not in fragment.headers
    assert "Go to the home page" not in fragment.get_data(as_text=True)  # no way back in it
    assert json.loads(fragment.headers["HX-Trigger"]) == {"changed": None}
    with app.test_request_context("/x", method="POST"):
        plain = render_page("errors/page.html", "errors/_error.html", see_other="/next",
                            page_message=("Done.", "success"), status=404)
        assert session["_flashes"] == [("success", "Done.")]
    assert (plain.status_code, plain.headers["Location"]) == (303, "/next")
    with app.test_request_context("/x", headers={"HX-Request": "true",
                                                 "HX-History-Restore-Request": "true"}):
        page = render_page("errors/page.html", "errors/_error.html", status=404,
                           page_context=lambda: {"back_url": "/back"})
    assert page.status_code == 200
    assert 'href="/back"' in page.get_data(as_text=True)
