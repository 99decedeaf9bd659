"""The relay down for 30 s: the worker pauses as a whole (the Outbox page says so) instead of
failing a batch every poll, then delivers everything once. A connection that hangs costs only
its own message."""

import asyncio

import sqlalchemy as sa

from jobs.drain import drain_once
from tests import factories
from tests.outbox_support import clock_fixture, delivered, queue_messages, states  # noqa: F401
from webapp.extensions import db
from webapp.models.outbox import OutboxAttempt


def _failed_attempts() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(OutboxAttempt)
                             .where(OutboxAttempt.outcome == "temporary"))


def test_a_30_second_outage_costs_a_bounded_number_of_attempts_and_loses_nothing(
        make_app, smtp, clock, users):
    clock.freeze()  # the 30 s pause runs out only as the polls move the clock
    connections, poll, breaker = 4, 2, 3
    app = make_app(OUTBOX_SMTP_CONNECTIONS=connections, OUTBOX_BATCH_SIZE=50,
                   OUTBOX_CIRCUIT_BREAKER_FAILURES=breaker,
                   OUTBOX_CIRCUIT_BREAKER_PAUSE_SECONDS=30)
    with app.app_context():
        ids = queue_messages(100)
    client = app.test_client()
    client.post("/auth/login", data={"email": "admin@example.org", "password": factories.PASSWORD})

    smtp.stop()
    try:
        # Thirty seconds of polls, the clock seam standing in for the waiting.
        reports = []
        for _ in range(30 // poll):
            reports.append(drain_once(app, "w1"))
            clock.advance(seconds=poll)
            if len(reports) == 2:
                banner = client.get("/outbox/counters").get_data(as_text=True)
                assert 'id="sending-paused"' in banner
    finally:
        smtp.start()

    assert reports[0]["circuit_open"] and reports[0]["paused_until"]
    # Every later poll of the outage claimed nothing: the worker paused as a whole.
    assert all(r["claimed"] == 0 and r["paused_until"] for r in reports[1:])
    with app.app_context():
        # Only the first poll spent attempts: the failures that open the breaker, plus at most
        # one row each other connection had already taken when it opened.
        assert _failed_attempts() <= breaker + connections - 1
        assert states() == {"pending": 100}

    for _ in range(100):  # the relay is back: polls until the queue is empty
        drain_once(app, "w1")
        with app.app_context():
            if states() == {"sent": 100}:
                break
        clock.advance(seconds=poll)
    assert delivered(smtp) == {message_id: 1 for message_id in ids}
    assert 'id="sending-paused"' not in client.get("/outbox/counters").get_data(as_text=True)


def test_after_a_pause_a_relay_still_down_costs_only_a_probe_and_a_longer_pause(
        make_app, smtp, clock):
    app = make_app(OUTBOX_SMTP_CONNECTIONS=2, OUTBOX_CIRCUIT_BREAKER_FAILURES=3,
                   OUTBOX_CIRCUIT_BREAKER_PAUSE_SECONDS=30)
    with app.app_context():
        queue_messages(50)
    smtp.stop()
    try:
        first = drain_once(app, "w1")
        with app.app_context():
            spent = _failed_attempts()
        clock.advance(seconds=31)
        probe = drain_once(app, "w1")
        with app.app_context():
            assert _failed_attempts() - spent <= 3  # the probe: as many rows as open the breaker
        assert probe["claimed"] <= 3 and probe["circuit_open"]
        # Twice as long this time.
        assert probe["paused_until"] > first["paused_until"]
        clock.advance(seconds=31)
        assert drain_once(app, "w1")["claimed"] == 0
    finally:
        smtp.start()


def test_a_connection_that_hangs_after_data_costs_only_its_own_message(make_app, smtp,
                                                                       monkeypatch):
    app = make_app(OUTBOX_SMTP_CONNECTIONS=3, OUTBOX_BATCH_SIZE=100, MAIL_TIMEOUT_SECONDS=20)
    with app.app_context():
        ids = queue_messages(120)
    handler = smtp.handler
    accept = type(handler).handle_DATA
    hung = {}

    async def hang_on_the_tenth(server, session, envelope):
        if not hung and len(handler.messages) == 9:
            hung["to"] = envelope.rcpt_tos[0]
            # This connection hangs (the server's loop does not) until the others are done,
            # or gives up after a while if they never are.
            for _ in range(300):
                if len(handler.messages) == 119:
                    break
                await asyncio.sleep(0.05)
            hung["delivered meanwhile"] = len(handler.messages) - 9
            return "451 4.4.2 Took too long"
        return await accept(handler, server, session, envelope)

    monkeypatch.setattr(handler, "handle_DATA", hang_on_the_tenth)
    report = drain_once(app, "w1")

    # While one connection hung, the other two sent every other message.
    assert hung["delivered meanwhile"] == 110
    assert report["sent"] == 119 and report["retried"] == 1 and not report["circuit_open"]
    with app.app_context():
        assert states() == {"sent": 119, "pending": 1}
    assert [m for m, count in delivered(smtp).items() if count != 1] == []
    assert len(delivered(smtp)) == 119 and set(delivered(smtp)) <= set(ids)
    assert not smtp.to(hung["to"])
