"""No input gives a 5xx: generated values (huge and non-numeric ids, control characters, NUL,
impossible dates, long strings) sent to every form field and query parameter of every route,
as each role, on each database. The routes come from the app's URL map, the field names from
its forms; a 5xx fails the test with the request that caused it.

The sweep of every route is shared out over SWEEPS tests, which parallel workers run side by
side. The example budget keeps `make test` short: FUZZ_EXAMPLES raises it for a longer hunt."""

import io
import os
import re
import string
from collections import Counter
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder

import webapp
from tests import factories
from tests.factories import PASSWORD
from webapp import outbox
from webapp.core import clock
from webapp.extensions import db as _db
from webapp.models import EventType, Role, User
from webapp.models.outbox import OutboxMessage
from webapp.web.forms import Form

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "250"))
SWEEPS = 4  # each takes every fourth route
ROLES = ["anonymous", *(role.value for role in Role)]
# Read from the request by views directly rather than through a form.
RAW_PARAMETERS = ["after", "before", "poll", "next", "action", "locale", "ids", "scope",
                  "status", "preview_application", "template_id"]
# Routes that end the test's own session, or serve files.
SKIPPED = {"auth.logout", "static"}
BLUEPRINTS = Path(webapp.__file__).parent / "blueprints"
READ_FROM_REQUEST = re.compile(r"request\.(?:args|form|values)\.get(?:list)?\(\s*[\"'](\w+)[\"']")
PLACEHOLDER = re.compile(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>")

NASTY = [
    "", "0", "-1", "abc", "None", "y", "1e9", "1.5", " 1", "٣",
    str(2**31), str(2**31 - 1), str(2**63), str(2**64 + 1), "9" * 40,
    "\x00", "a\x00b", "\x1b[31m", "\r\nBcc: x@example.org", "\t", "\u202e", "\ufeff",
    "0001-01-01", "9999-12-31", "0001-01-01T00:00", "9999-12-31T23:59", "2026-02-30T10:00",
    "2030-01-01T00:00", "{{ 1/0 }}", "{{ 9**99999 }}", "<script>alert(1)</script>",
    "{{ recipient_name|nofilter }}", "{% if 1 is nosuchtest %}{% endif %}", "{% include 'x' %}",
    "{{ recipient_name.__class__ }}", "{% for %}",
    "javascript:alert(1)", "//evil.example", "/\\evil.example", "/%09/evil.example",
    "x" * 5000, "submit", "save", "all", "selected", "retry", "cancel", "resend", "fr", "en",
    "submitted", "status_changed", "#ff0000", "a@example.org", "a@example.org, b@",
]


def _raw_parameters() -> set[str]:
    """The parameters views read from the request themselves, found in their source."""
    found = set(RAW_PARAMETERS)
    for source in BLUEPRINTS.rglob("*.py"):
        found.update(READ_FROM_REQUEST.findall(source.read_text()))
    return found


def _field_names(app) -> list[str]:
    """Every field name of every form of the app (with their prefixes), and every parameter
    a view reads directly."""
    import webapp.blueprints  # noqa: F401 — the forms are defined with their blueprints

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    names = _raw_parameters()
    with app.test_request_context():
        for form_class in subclasses(Form):
            form = form_class(meta={"csrf": False})
            names.update(field.name for field in form)
    return sorted(names)


@pytest.fixture
def world(app, users):
    """One of everything, so that valid ids reach the code behind the routes."""
    with app.app_context():
        candidate = _db.session.get(User, users["candidate"])
        campaign = factories.make_campaign(label="Grants")
        template = factories.make_template(name="Ack")
        factories.make_trigger(campaign, template, event=EventType.SUBMITTED)
        trigger = factories.make_trigger(campaign, factories.make_template(name="Yes"))
        mine = factories.make_application(campaign, candidate)
        other = factories.make_application(campaign, status_code="submitted")
        outbox.enqueue(key="fuzz", to_addr="someone@example.org", subject="Hello",
                       body_html="<p>Hi</p>", body_text="Hi")
        _db.session.flush()
        message = _db.session.scalars(_db.select(OutboxMessage)).first()
        campaign.closes_at = clock.now() + timedelta(days=30)
        _db.session.commit()
        return sorted({campaign.id, template.id, trigger.id, mine.id, other.id, message.id,
                       factories.status("accepted").id, 1, 2})


def _clients(app) -> dict:
    clients = {}
    for role in ROLES:
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        if role != "anonymous":
            response = client.post("/auth/login", data={"email": f"{role}@example.org",
                                                        "password": PASSWORD})
            assert response.status_code in (302, 303), role
        clients[role] = client
    return clients


def _routes(app) -> list[tuple[str, str, list[tuple[str, str, str]]]]:
    """(method, rule, [(converter, its arguments, name)]) for every route."""
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((method, rule.rule, PLACEHOLDER.findall(rule.rule)))
    return sorted(routes)


def _path_value(converter: str, arguments: str, ids: list[int]):
    if converter == "int":
        return st.one_of(st.sampled_from(ids), st.integers(min_value=0, max_value=2**70))
    if converter == "any":
        return st.sampled_from([a.strip().strip("'\"") for a in arguments.split(",")])
    return st.one_of(st.sampled_from(["submitted", "status_changed", "x"]),
                     st.text(string.printable, min_size=1, max_size=20))


def _values(ids: list[int]):
    return st.one_of(
        st.sampled_from(NASTY),
        st.sampled_from([str(i) for i in ids]),
        st.text(max_size=40),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.dates().map(lambda d: d.isoformat()),
        st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M")),
        st.sampled_from(NESTED),
        st.binary(max_size=64).map(lambda content: _file(content)),
    )


def _file(content: bytes = b"%PDF-1.4 not text", name: str = "x.pdf"):
    """A file part of a multipart request: a browser sends one for an <input type=file>."""
    return (io.BytesIO(content), name)


# Templates nested deeper than any email needs: the template fields must refuse them.
NESTED = [
    "{{ " + "(" * 80 + "1" + ")" * 80 + " }}",
    "{% if 1 %}" * 100 + "x" + "{% endif %}" * 100,
    "{{ recipient_name" + "|upper" * 3000 + " }}",
    "{{ " + "not " * 500 + "1 }}",
    "{{ recipient_name" + "[0]" * 2000 + " }}",
    "{% for a in [1] %}" * 60 + "{% endfor %}" * 60,
    "{{ " + "[" * 300 + "]" * 300 + " }}",
]


def _url(rule: str, placeholders, values: dict) -> str:
    url = rule
    for _converter, _arguments, name in placeholders:
        url = re.sub(rf"<(?:\w+(?:\([^)]*\))?:)?{name}>", lambda _m, n=name: quote(
            str(values[n]), safe=""), url, count=1)
    return url


def _send(clients, role, method, url, params):
    client = clients[role]
    headers = {"HX-Request": "true"} if params.pop("__htmx", False) else {}
    if method == "GET":
        params = {k: v for k, v in params.items() if isinstance(v, str)}  # no files in a URL
        response = client.get(url, query_string=params, headers=headers)
    else:
        response = client.open(url, method=method, data=params, headers=headers)
    assert response.status_code < 500, (role, method, url, params)
    return response


@pytest.fixture
def no_database_refusal(caplog):
    """The app turns a value the database refuses into a 422; here it counts as a failure,
    since a form should have refused it first."""
    yield
    refused = [r.getMessage() for r in caplog.records
               if r.getMessage().startswith("Value refused by the database")]
    assert not refused, refused


@pytest.mark.parametrize("share", range(SWEEPS))
def test_every_route_answers_every_role_without_5xx_for_hostile_values(app, world, share,
                                                                         no_database_refusal):
    """A sweep first: each route as each role, with real ids and with an id beyond 2^63, every
    field holding a hostile value: the three worst as admin, one per other role (rotating).
    This test takes its share of the routes: every SWEEPS-th, from the `share`-th."""
    clients = _clients(app)
    fields = _field_names(app)
    hostile = ["\x00", str(2**63), "abc", "0001-01-01T00:00", "x" * 5000]
    answers = Counter()
    # A query string may carry at most MAX_QUERY_VALUES names: the fields go in groups.
    size = app.config["MAX_QUERY_VALUES"] - 10
    groups = [fields[i:i + size] for i in range(0, len(fields), size)]
    for n, (method, rule, placeholders) in enumerate(_routes(app)):
        if n % SWEEPS != share:
            continue
        real, huge = {}, {}
        for converter, arguments, name in placeholders:
            first = arguments.split(",")[0].strip().strip("'\"")
            real[name] = {"int": world[0], "any": first}.get(converter, "submitted")
            huge[name] = {"int": 2**63, "any": first}.get(converter, "\x00")
        for r, role in enumerate(ROLES):
            rotated = hostile[(n + r) % len(hostile)]
            # The admin reaches the most code: every hostile value; the others, one each.
            for value in hostile[:3] if role == "admin" else [rotated]:
                for group in groups if method == "GET" else [fields]:
                    answers[_send(clients, role, method, _url(rule, placeholders, real),
                                  dict.fromkeys(group, value)).status_code] += 1
            answers[_send(clients, role, method, _url(rule, placeholders, huge),
                          dict.fromkeys(fields, rotated)).status_code] += 1
    # The sweep reached the code behind the routes, not only the access checks.
    assert {200, 302, 303, 403, 404, 422} <= answers.keys(), answers


def test_generated_values_in_every_field_and_parameter_never_give_a_5xx(app, world,
                                                                         no_database_refusal):
    clients = _clients(app)
    fields = _field_names(app)
    routes = _routes(app)

    @st.composite
    def requests(draw):
        method, rule, placeholders = draw(st.sampled_from(routes))
        path = {name: draw(_path_value(conv, args, world)) for conv, args, name in placeholders}
        params = draw(st.dictionaries(st.sampled_from(fields), _values(world), max_size=8))
        params["__htmx"] = draw(st.booleans())
        return draw(st.sampled_from(ROLES)), method, _url(rule, placeholders, path), params

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(requests())
    def no_5xx(request):
        role, method, url, params = request
        _send(clients, role, method, url, params)

    no_5xx()


def test_a_file_part_in_any_field_of_any_form_is_refused_without_5xx(app, world,
                                                                     no_database_refusal):
    """A multipart request whose text fields come as files (as a script would send them):
    every form refuses it, as every role, on every POST route."""
    clients = _clients(app)
    fields = _field_names(app)
    # The two request bodies, encoded once: the same bytes go to every route as every role.
    bodies = {
        "every field a file": _multipart({name: _file() for name in fields}),
        # One file among good text values: the file is what is refused.
        "one file among text values": _multipart({**dict.fromkeys(fields, "1"),
                                                  "email": _file(),
                                                  "name": _file(b"x" * 10)}),
    }
    answers = Counter()
    for method, rule, placeholders in _routes(app):
        if method == "GET":
            continue
        real = {}
        for converter, arguments, name in placeholders:
            first = arguments.split(",")[0].strip().strip("'\"")
            real[name] = {"int": world[0], "any": first}.get(converter, "submitted")
        url = _url(rule, placeholders, real)
        for role in ROLES:
            for body, (content_type, data) in bodies.items():
                response = clients[role].open(url, method=method, data=data,
                                              content_type=content_type)
                assert response.status_code < 500, (role, method, url, body)
                answers[response.status_code] += 1
    assert 422 in answers, answers


def _multipart(values: dict) -> tuple[str, bytes]:
    """A multipart/form-data body as the test client builds it from `values` (files as
    (stream, name) pairs), with its content type."""
    environ = EnvironBuilder(method="POST", data=values).get_environ()
    return environ["CONTENT_TYPE"], environ["wsgi.input"].read()


@pytest.mark.parametrize("path,data", [
    ("/auth/login", {"email": "admin@example.org", "password": PASSWORD}),
    ("/auth/forgot", {"email": "admin@example.org"}),
    ("/auth/signup", {"first_name": "Ana", "last_name": "Lopez", "email": "ana@example.org",
                      "password": "a-strong-pass-1", "confirm": "a-strong-pass-1"}),
])
@pytest.mark.parametrize("as_file", ["email", "password", "first_name"])
def test_a_file_sent_for_a_text_field_is_a_422_next_to_the_field(app, users, path, data,
                                                                  as_file):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = client.post(path, data={**data, as_file: _file()})
    if as_file not in data:
        assert response.status_code in (302, 303, 200, 422)
        return
    assert response.status_code == 422
    assert "not text was sent for this field" in response.get_data(as_text=True)


def test_json_that_is_no_object_is_refused_without_5xx(app, users):
    client = app.test_client()
    for body in ("[1, 2]", "5", '{"email": {"a": 1}, "password": [1, 2]}', '"x"', "{"):
        response = client.post("/auth/login", data=body,
                               headers={"Content-Type": "application/json"})
        assert response.status_code in (400, 422), body
