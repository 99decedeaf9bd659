"""Guesses sent at the same moment, from real threads to a real server on a real database:
each one counts, and a burst that reaches the limit cannot carry the right password in."""

import http.client
import threading
import urllib.parse
from contextlib import contextmanager

from werkzeug.serving import make_server

from tests import factories
from tests.outbox_support import clock_fixture  # noqa: F401
from webapp.extensions import db
from webapp.models import SignInThrottle

WRONG = "not the password 1"


@contextmanager
def serving(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(10)


def post(port: int, path: str, fields: dict, cookie: str = "") -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept-Language": "en"}
    if cookie:
        headers["Cookie"] = cookie
    connection.request("POST", path, urllib.parse.urlencode(fields), headers)
    response = connection.getresponse()
    body = response.read().decode()
    cookies = "; ".join(v.split(";", 1)[0] for k, v in response.getheaders()
                        if k.lower() == "set-cookie")
    connection.close()
    return response.status, cookies or body


def burst(port: int, requests: list[tuple[str, dict, str]]) -> list[tuple[int, str]]:
    """Send every request at once from its own thread; the answers in the same order."""
    start = threading.Barrier(len(requests))
    answers: list = [None] * len(requests)

    def run(n, path, fields, cookie):
        start.wait()
        answers[n] = post(port, path, fields, cookie)

    threads = [threading.Thread(target=run, args=(n, *request))
               for n, request in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return answers


def test_thirty_simultaneous_wrong_passwords_and_the_right_one_do_not_sign_in(app, users,
                                                                              clock):
    login = {"email": "manager@example.org"}
    clock.freeze()  # the delays of the burst do not run out while it lasts
    requests = [("/auth/login", {**login, "password": WRONG}, "")] * 30
    requests.insert(15, ("/auth/login", {**login, "password": factories.PASSWORD}, ""))
    with serving(app) as port:
        answers = burst(port, requests)
    statuses = [status for status, _ in answers]
    assert 302 not in statuses, statuses
    assert set(statuses) <= {422, 429}
    free = app.config["SIGN_IN_FREE_FAILURES"]
    # Only the guesses the policy lets through were checked (the free ones and the one that
    # brings the first delay); every other answer says to wait, and the count holds them all.
    assert statuses.count(422) <= free + 1
    with app.app_context():
        row = db.session.get(SignInThrottle, "account:manager@example.org")
        assert row.failures == 31  # every guess counts, those refused unchecked too
    # Afterwards the delay holds: the right password is still refused.
    with serving(app) as port:
        status, _ = post(port, "/auth/login", {**login, "password": factories.PASSWORD})
    assert status == 429


def test_the_access_log_names_the_route_of_an_emailed_link_not_its_token(app, users, caplog):
    token = "eyJ1IjoxfQ.aB3dE-fG_hi.Jk1LmNoPqRsTuVwXyZ"
    with caplog.at_level("INFO", logger="werkzeug"), serving(app) as port:
        for path in ("confirm", "reset", "invitation", "link"):
            post(port, f"/auth/{path}/{token}", {})
    logged = "\n".join(record.getMessage() for record in caplog.records
                       if record.name == "werkzeug")
    assert "/auth/reset/<token>" in logged and "/auth/link/<token>" in logged
    assert token not in logged and token[:20] not in logged
