"""Failed sign-ins: counted in the database per account and per client address, so that every
process sees them; growing delays, then a lock; audited."""

import re
from html import unescape

import sqlalchemy as sa

from tests import factories
from tests.outbox_support import clock_fixture  # noqa: F401
from webapp.extensions import db
from webapp.models import AuditEntry, User

WRONG = "not the password 1"


def attempt(client, password, email="manager@example.org", address="10.0.0.1"):
    return client.post("/auth/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def test_failures_bring_growing_delays_and_a_success_resets_the_count(app, client, users,
                                                                      clock):
    clock.freeze()  # the delays run out only as the test moves the clock, not while it runs
    for _ in range(3):  # SIGN_IN_FREE_FAILURES
        assert attempt(client, WRONG).status_code == 422
    assert attempt(client, WRONG).status_code == 422  # the 4th: 2 s before the next try
    blocked = attempt(client, factories.PASSWORD)
    assert blocked.status_code == 429
    assert "Too many failed sign-ins: wait 2 seconds before trying again." in text(blocked)
    clock.advance(seconds=2)
    # The refused attempt counted too (the 5th): this one is the 6th, 8 s before the next.
    assert attempt(client, WRONG).status_code == 422
    clock.advance(seconds=7)
    assert attempt(client, factories.PASSWORD).status_code == 429
    clock.advance(seconds=1)
    assert attempt(client, factories.PASSWORD).status_code == 303
    client.post("/auth/logout")
    # The account's count started again: three free failures, then signing in works.
    for _ in range(3):
        assert attempt(client, WRONG).status_code == 422
    assert attempt(client, factories.PASSWORD).status_code == 303


def test_ten_failures_lock_the_account_for_a_while_with_a_clear_message(app, client, users,
                                                                        clock):
    clock.freeze()
    for _ in range(9):
        attempt(client, WRONG)
        clock.advance(seconds=60)  # waits out each delay
    locked = attempt(client, WRONG)
    assert locked.status_code == 429
    assert ("Too many failed sign-ins: signing in with a password is locked for 15 minutes. "
            "You can still sign in with a link sent to your address.") in text(locked)
    clock.advance(minutes=14)
    assert attempt(client, factories.PASSWORD).status_code == 429
    clock.advance(minutes=1, seconds=1)
    assert attempt(client, factories.PASSWORD).status_code == 303
    with app.app_context():
        manager = db.session.scalar(sa.select(User).where(User.email == "manager@example.org"))
        entries = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)).all()
        assert [(e.action, e.object_id) for e in entries] == [
            ("sign_in.locked_account", manager.id), ("sign_in.succeeded", manager.id)]
        assert "after 10 failed sign-ins" in entries[0].summary
        assert entries[1].summary == "from 10.0.0.1"


def test_the_counts_hold_across_two_app_instances_sharing_the_database(make_app, users,
                                                                       clock):
    clock.freeze()
    first, second = make_app().test_client(), make_app().test_client()
    attempt(first, WRONG)
    attempt(second, WRONG)
    attempt(first, WRONG)
    assert attempt(second, WRONG).status_code == 422  # the 4th, wherever it came from
    refused = attempt(first, factories.PASSWORD)
    assert refused.status_code == 429
    assert attempt(second, factories.PASSWORD).status_code == 429
    clock.advance(seconds=2)
    assert attempt(second, factories.PASSWORD).status_code == 303


def test_one_address_trying_many_accounts_is_slowed_down_never_locked(make_app, users, clock):
    clock.freeze()
    app = make_app(SIGN_IN_ADDRESS_FREE_FAILURES=4, SIGN_IN_ADDRESS_ALERT_AFTER=6)
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    for n in range(4):
        assert attempt(client, WRONG, email=f"guess{n}@example.org").status_code == 422
    assert attempt(client, WRONG, email="guess9@example.org").status_code == 422
    refused = attempt(client, factories.PASSWORD)  # a fresh account, from the same address
    assert refused.status_code == 429
    other_address = attempt(client, factories.PASSWORD, address="10.0.0.2")
    assert other_address.status_code == 303
    client.post("/auth/logout")
    owner = client  # this browser has signed in to the manager's account
    stranger = app.test_client()
    stranger.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    for n in range(20):
        clock.advance(seconds=61)
        attempt(stranger, WRONG, email=f"guess{10 + n}@example.org")
    slowed = attempt(stranger, factories.PASSWORD)
    assert slowed.status_code == 429
    assert "wait 60 seconds" in text(slowed) and "locked" not in text(slowed)
    # The address is slowed for whoever guesses from it, not for its people's own browsers.
    assert attempt(owner, factories.PASSWORD).status_code == 303
    clock.advance(seconds=60)
    assert attempt(stranger, factories.PASSWORD).status_code == 303
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEntry.action)).all()
        assert actions.count("sign_in.slowed_address") == 1


def test_an_unknown_address_is_answered_like_a_wrong_password(app, client, users):
    unknown = attempt(client, WRONG, email="nobody@example.org")
    wrong = attempt(client, WRONG)
    assert unknown.status_code == wrong.status_code == 422
    def answer(response, email):
        page = re.sub(r"[\w.-]+\.[\w-]+\.[\w-]{20,}", "TOKEN", text(response))  # CSRF token
        return page.replace(email, "X")

    assert answer(unknown, "nobody@example.org") == answer(wrong, "manager@example.org")
    # The unknown address was checked against a real hash of the same kind (same cost).
    from webapp.services import sign_in

    with app.app_context():
        manager = db.session.scalar(sa.select(User).where(User.email == "manager@example.org"))
        method = manager.password_hash.split("$", 1)[0]
        assert sign_in._dummy().split("$", 1)[0] == method


def test_a_new_password_lifts_the_lock(app, client, users, smtp, clock):
    from jobs.drain import drain_once

    for _ in range(10):
        attempt(client, WRONG)
        clock.advance(seconds=61)
    assert attempt(client, factories.PASSWORD).status_code == 429
    client.post("/auth/forgot", data={"email": "manager@example.org"})
    drain_once(app)
    [message] = smtp.to("manager@example.org")
    link = re.search(r"http://missive\.test(/auth/reset/\S+)",
                     message.message.get_body(("plain",)).get_content()).group(1)
    new = "violet kettle orbit 7"
    assert client.post(link, data={"password": new, "confirm": new}).status_code == 303
    client.post("/auth/logout")
    assert attempt(client, new, address="10.0.0.3").status_code == 303


def test_every_sign_in_is_audited(app, client, users):
    attempt(client, factories.PASSWORD)
    client.post("/auth/logout")
    attempt(client, factories.PASSWORD, email="admin@example.org", address="10.0.0.9")
    with app.app_context():
        rows = db.session.execute(sa.select(AuditEntry.action, AuditEntry.summary)
                                  .order_by(AuditEntry.id)).all()
        assert [tuple(r) for r in rows] == [("sign_in.succeeded", "from 10.0.0.1"),
                                            ("sign_in.succeeded", "from 10.0.0.9")]


def test_control_characters_in_the_address_are_a_wrong_password_not_an_error(client, users):
    for email in ("manager@example.org\x00", "a\x00b@example.org", "x\r\n@example.org"):
        response = attempt(client, WRONG, email=email)
        assert response.status_code == 422
    response = client.post("/auth/forgot", data={"email": "a\x00b@example.org"})
    assert response.status_code in (303, 422)


def test_change_my_password_checks_the_current_one_behind_the_same_throttle(app, client,
                                                                              users, clock):
    """Whoever finds a session left open cannot guess its password on "Change my password"."""
    assert attempt(client, factories.PASSWORD).status_code == 303
    new = "violet kettle orbit 7"
    for _ in range(30):
        client.post("/auth/password", data={"current": WRONG, "password": new, "confirm": new},
                    environ_base={"REMOTE_ADDR": "10.0.0.1"})
    right = client.post("/auth/password", data={"current": factories.PASSWORD,
                                                "password": new, "confirm": new},
                        environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert right.status_code == 422
    assert "Too many failed sign-ins" in text(right)
    with app.app_context():
        manager = db.session.scalar(sa.select(User).where(User.email == "manager@example.org"))
        assert manager.check_password(factories.PASSWORD) and not manager.check_password(new)


def test_a_stranger_s_guesses_do_not_lock_the_owner_s_own_browser(app, client, users, clock):
    assert attempt(client, factories.PASSWORD).status_code == 303
    client.post("/auth/logout")
    stranger = app.test_client()
    for _ in range(10):
        attempt(stranger, WRONG, address="192.0.2.7")
        clock.advance(seconds=61)
    assert attempt(stranger, factories.PASSWORD, address="192.0.2.7").status_code == 429
    assert attempt(client, factories.PASSWORD).status_code == 303


def test_a_locked_account_still_signs_in_with_a_link_sent_to_its_address(app, client, users,
                                                                          smtp, clock):
    from tests.account_support import received_link

    stranger = app.test_client()
    for _ in range(10):
        attempt(stranger, WRONG, address="192.0.2.7")
        clock.advance(seconds=61)
    locked = attempt(client, factories.PASSWORD)
    assert locked.status_code == 429 and "sign in with a link" in text(locked)
    asked = client.post("/auth/link", data={"email": "manager@example.org"},
                        follow_redirects=True)
    assert "a link to sign in is on its way" in text(asked)
    unknown = client.post("/auth/link", data={"email": "nobody@example.org"})
    assert unknown.status_code == 303
    link, message = received_link(app, smtp, "manager@example.org", "/auth/link/")
    assert message["Subject"] == "Your sign-in link · Missive"
    assert client.get(link).status_code == 200  # a page with a button: scanners use nothing
    signed_in = client.post(link)
    assert signed_in.status_code == 303
    assert client.get("/campaigns/").status_code == 200
    client.post("/auth/logout")
    assert client.post(link).status_code == 400  # once only
    # The owner proved the address: the password works again, from anywhere.
    assert attempt(app.test_client(), factories.PASSWORD, address="192.0.2.8").status_code == 303
