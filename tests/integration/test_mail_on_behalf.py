"""Mail asked for someone else's address: limited per client and per address across
processes, and "forgot your password?" takes the same work whether or not the address has an
account."""

from html import unescape

import sqlalchemy as sa

from jobs.drain import drain_once
from tests.outbox_support import clock_fixture  # noqa: F401
from webapp.extensions import db


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


def _work_of(app, client, email):
    """The statements one request runs, by verb and table."""
    statements = []

    def counted(conn, cursor, statement, parameters, context, executemany):
        words = statement.split()
        verb = words[0].upper()
        table = next((w for w in words[1:6] if w.lower().startswith(("outbox", "users"))), "")
        statements.append(f"{verb} {table.strip(chr(34))}".strip())

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", counted)
    try:
        assert forgot(client, email).status_code == 303
    finally:
        sa.event.remove(engine, "before_cursor_execute", counted)
    return statements


def test_forgot_takes_the_same_work_for_known_and_unknown_addresses(make_app, users, smtp):
    """Whether or not the address has an account, the request reads the same template and
    branding and writes the same outbox row (taken back for a stranger's address): the time
    an answer takes tells nothing. Counted, not timed, so a noisy machine cannot move it."""
    app = make_app(MAIL_PER_CLIENT_PER_HOUR=10_000, MAIL_PER_ADDRESS_PER_DAY=10_000,
                   PASSWORD_RESET_RESEND_SECONDS=0)
    client = app.test_client()
    _work_of(app, client, "manager@example.org")  # the first use writes the system templates
    _work_of(app, client, "warm-up@example.org")
    known = _work_of(app, client, "manager@example.org")
    unknown = _work_of(app, client, "nobody@example.org")
    outbox_writes = [s for s in known if s.startswith("INSERT outbox")]
    assert outbox_writes and outbox_writes == [s for s in unknown
                                               if s.startswith("INSERT outbox")]
    # The known address's few extra statements (its roles, its reset date, the audit entry)
    # against the stranger's savepoint: nothing like a whole rendering and row more or less.
    assert abs(len(known) - len(unknown)) <= 3, (known, unknown)
    with app.app_context():
        sent = drain_once(app)
    assert sent["sent"] == 2 and len(smtp.to("manager@example.org")) == 2


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
