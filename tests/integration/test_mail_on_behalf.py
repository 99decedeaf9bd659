"""Mail asked for someone else's address: limited per client and per address across
processes, and "forgot your password?" takes the same work whether or not the address has an
account."""

import statistics
import time
from html import unescape

from jobs.drain import drain_once
from tests.outbox_support import clock_fixture  # noqa: F401


def forgot(client, email, address="10.0.0.1"):
    return client.post("/auth/forgot", data={"email": email},
                       environ_base={"REMOTE_ADDR": address})


def test_one_client_cannot_ask_mail_for_many_addresses(make_app, users, smtp):
    app = make_app(MAIL_PER_CLIENT_PER_HOUR=5)
    first, second = app.test_client(), app.test_client()  # two processes' worth of clients
    first.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    for n in range(5):
        assert forgot(first if n % 2 else second, f"someone{n}@example.org").status_code == 303
    refused = forgot(first, "manager@example.org")
    assert refused.status_code == 429
    assert "Too many emails were asked from your connection" in unescape(refused.text)
    assert forgot(second, "manager@example.org", address="10.0.0.2").status_code == 303
    assert drain_once(app)["sent"] == 1


def test_one_address_gets_a_bounded_share_whoever_asks(make_app, users, smtp, clock):
    app = make_app(MAIL_PER_ADDRESS_PER_DAY=3, PASSWORD_RESET_RESEND_SECONDS=0)
    client = app.test_client()
    for n in range(8):
        response = forgot(client, "manager@example.org", address=f"10.0.1.{n}")
        assert response.status_code == 303  # the same answer: it tells nothing
    assert drain_once(app)["sent"] == 3
    clock.advance(days=1, seconds=1)
    forgot(client, "manager@example.org", address="10.0.2.1")
    assert drain_once(app)["sent"] == 1


def _quartiles(samples):
    q = statistics.quantiles(samples, n=4)
    return q[0], q[2]


def test_forgot_takes_the_same_work_for_known_and_unknown_addresses(make_app, users, smtp):
    """Many requests of each kind, interleaved; their middle halves must overlap. The
    criterion is generous on purpose (a noisy machine moves both alike): before, the known
    address took about twice as long, and the middle halves stood apart."""
    app = make_app(MAIL_PER_CLIENT_PER_HOUR=10_000, MAIL_PER_ADDRESS_PER_DAY=10_000,
                   PASSWORD_RESET_RESEND_SECONDS=0)
    client = app.test_client()
    times = {"known": [], "unknown": []}
    for n in range(70):
        for kind in ("known", "unknown") if n % 2 else ("unknown", "known"):
            email = "manager@example.org" if kind == "known" else f"nobody{n}@example.org"
            started = time.perf_counter()
            assert forgot(client, email).status_code == 303
            if n >= 10:  # the first ones warm up caches
                times[kind].append(time.perf_counter() - started)
    known, unknown = _quartiles(times["known"]), _quartiles(times["unknown"])
    assert known[0] <= unknown[1] and unknown[0] <= known[1], (known, unknown)


def test_sign_ups_with_other_people_s_addresses_are_limited_per_client(make_app, smtp):
    app = make_app(MAIL_PER_CLIENT_PER_HOUR=3)
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"

    def sign_up(n, address="10.0.0.1"):
        return client.post("/auth/signup", environ_base={"REMOTE_ADDR": address}, data={
            "first_name": "Ana", "last_name": "Lopez", "email": f"victim{n}@example.org",
            "password": "a-strong-pass-1", "confirm": "a-strong-pass-1"})

    assert [sign_up(n).status_code for n in range(3)] == [303, 303, 303]
    refused = sign_up(3)
    assert refused.status_code == 429
    assert "Too many emails were asked from your connection" in unescape(refused.text)
    assert sign_up(4, address="10.0.0.2").status_code == 303
    assert drain_once(app)["sent"] == 4
    assert sorted(a for m in smtp.messages for a in m.rcpt_tos) == [
        "victim0@example.org", "victim1@example.org", "victim2@example.org",
        "victim4@example.org"]
