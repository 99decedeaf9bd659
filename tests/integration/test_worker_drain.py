"""The drain against the real SMTP fixture and the real databases."""

import email
import email.policy

import pytest
import sqlalchemy as sa

from jobs.drain import drain_once
from tests.outbox_support import clock_fixture, delivered, queue_messages, states  # noqa: F401
from webapp import outbox
from webapp.core import clock
from webapp.extensions import db
from webapp.models.outbox import OutboxAttempt, OutboxMessage
from webapp.outbox import queue as outbox_queue


@pytest.mark.parametrize("connections", [1, 2])
def test_200_messages_are_delivered_exactly_once_over_one_connection_per_batch(
        make_app, smtp, connections):
    app = make_app(OUTBOX_BATCH_SIZE=100, OUTBOX_SMTP_CONNECTIONS=connections)
    with app.app_context():
        ids = queue_messages(200)

    counts = drain_once(app)

    assert counts["batches"] == 2 and counts["sent"] == 200
    assert delivered(smtp) == {message_id: 1 for message_id in ids}
    # Each sending thread keeps its one connection from batch to batch: never one per message,
    # never more than one per batch.
    assert smtp.sessions == connections
    with app.app_context():
        assert states() == {"sent": 200}
        assert outbox_queue.attempts_since(clock.now().replace(year=2000)) == 200
    assert drain_once(app)["claimed"] == 0
    assert len(smtp.messages) == 200


def test_a_message_parses_back_with_its_headers_parts_and_non_ascii_text(app, smtp):
    with app.app_context():
        outbox.enqueue(key="k1", to_addr="zoe@example.org", to_name="Zoé Lefèvre-Ünal",
                       subject="Accusé de réception — dossier n° 42 " + "é" * 40,
                       body_html="<p>Bonjour Zoé, <b>merci</b> !</p>",
                       body_text="Bonjour Zoé, merci !", reply_to="help@example.org",
                       cc="cc@example.org")
        db.session.commit()
        row = db.session.scalar(sa.select(OutboxMessage))
    drain_once(app)

    [received] = smtp.messages
    assert sorted(received.rcpt_tos) == ["cc@example.org", "zoe@example.org"]
    message = email.message_from_bytes(received.data, policy=email.policy.default)
    assert message["Subject"] == "Accusé de réception — dossier n° 42 " + "é" * 40
    assert message["To"].addresses[0].display_name == "Zoé Lefèvre-Ünal"
    assert message["To"].addresses[0].addr_spec == "zoe@example.org"
    assert message["From"].addresses[0].addr_spec == "no-reply@missive.example.org"
    assert message["Cc"] == "cc@example.org"
    assert message["Reply-To"] == "help@example.org"
    assert message["Message-ID"] == row.message_id
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)).get_content() == "Bonjour Zoé, merci !"
    assert message.get_body(("html",)).get_content() == "<p>Bonjour Zoé, <b>merci</b> !</p>"


def test_451_for_30_percent_of_recipients_all_arrive_after_retries_none_twice(
        make_app, smtp, clock):
    app = make_app(OUTBOX_BACKOFF_SECONDS=(60, 300))
    with app.app_context():
        ids = queue_messages(50)
    refused_once = {f"user{i}@example.org" for i in range(50) if i % 10 < 3}
    not_yet_refused = set(refused_once)

    def reply(address):
        if address in not_yet_refused:
            not_yet_refused.discard(address)
            return "451 4.3.0 Mailbox busy, try again later"
        return None

    smtp.handler.rcpt_reply = reply
    first = drain_once(app)

    assert (first["sent"], first["retried"]) == (35, 15)
    assert len(smtp.messages) == 35
    with app.app_context():
        assert states() == {"sent": 35, "pending": 15}
        retried = db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.state == "pending")).all()
        assert {m.to_addr for m in retried} == refused_once
        for message in retried:
            assert message.attempts == 1
            assert "451" in message.last_error
            [attempt] = message.attempt_log
            # 60 s after the attempt (its own recorded time), give or take the 10 % jitter
            assert 54 <= (message.next_attempt_at - attempt.created_at).total_seconds() <= 66
            assert (attempt.outcome, attempt.smtp_code) == ("temporary", 451)
            assert attempt.smtp_text == "4.3.0 Mailbox busy, try again later"

    assert drain_once(app)["claimed"] == 0  # not due yet
    clock.advance(seconds=70)
    second = drain_once(app)

    assert second["sent"] == 15
    assert delivered(smtp) == {message_id: 1 for message_id in ids}
    with app.app_context():
        assert states() == {"sent": 50}
        attempts = db.session.execute(
            sa.select(OutboxAttempt.outcome, sa.func.count()).group_by(OutboxAttempt.outcome))
        assert dict(attempts.all()) == {"sent": 50, "temporary": 15}


def test_a_550_recipient_fails_after_one_attempt_with_the_server_text_kept(app, smtp):
    with app.app_context():
        queue_messages(3)
    smtp.handler.rcpt_reply = lambda address: (
        "550 5.1.1 No such user here" if address == "user1@example.org" else None)

    counts = drain_once(app)

    assert (counts["sent"], counts["failed"]) == (2, 1)
    with app.app_context():
        failed = db.session.scalar(
            sa.select(OutboxMessage).where(OutboxMessage.state == "failed"))
        assert failed.to_addr == "user1@example.org"
        assert failed.attempts == 1
        assert failed.last_error == "550 5.1.1 No such user here"
        [attempt] = failed.attempt_log
        assert (attempt.outcome, attempt.smtp_code) == ("permanent", 550)
    assert {m.rcpt_tos[0] for m in smtp.messages} == {"user0@example.org", "user2@example.org"}


def test_temporary_failures_stop_after_max_attempts(make_app, smtp, clock):
    app = make_app(OUTBOX_MAX_ATTEMPTS=3, OUTBOX_BACKOFF_SECONDS=(10,))
    with app.app_context():
        queue_messages(1)
    smtp.handler.rcpt_reply = lambda address: "452 4.2.2 Mailbox full"
    outcomes = []
    for _ in range(4):
        outcomes.append(drain_once(app))
        clock.advance(seconds=30)

    assert [(c["retried"], c["failed"]) for c in outcomes] == [(1, 0), (1, 0), (0, 1), (0, 0)]
    with app.app_context():
        message = db.session.scalar(sa.select(OutboxMessage))
        assert (message.state, message.attempts) == ("failed", 3)
        assert [a.number for a in message.attempt_log] == [1, 2, 3]
    assert smtp.messages == []


def test_server_down_then_up_rows_wait_then_go_and_the_breaker_stops_the_run(
        make_app, smtp, clock):
    app = make_app(OUTBOX_CIRCUIT_BREAKER_FAILURES=3, OUTBOX_SMTP_CONNECTIONS=1)
    with app.app_context():
        ids = queue_messages(10)
    smtp.stop()
    try:
        down = drain_once(app)
    finally:
        smtp.start()

    assert down["circuit_open"] is True
    assert (down["retried"], down["released"], down["sent"]) == (3, 7, 0)
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id))
        attempts = [row.attempts for row in rows]
        # Only the rows that met the refused connection spent an attempt.
        assert sorted(attempts) == [0] * 7 + [1] * 3
        assert states() == {"pending": 10}

    clock.advance(hours=1)
    up = drain_once(app)

    assert up["sent"] == 10 and up["circuit_open"] is False
    assert delivered(smtp) == {message_id: 1 for message_id in ids}


def test_a_stalled_server_is_a_temporary_failure_after_the_timeout(make_app, smtp):
    import time

    app = make_app(MAIL_TIMEOUT_SECONDS=0.5, OUTBOX_SMTP_CONNECTIONS=1)
    with app.app_context():
        queue_messages(1)
    # Answers only after the worker gave up, and then refuses: nothing arrives late.
    smtp.handler.data_reply = lambda received: time.sleep(1.5) or "451 4.4.2 Too late"

    counts = drain_once(app)

    assert counts["retried"] == 1
    with app.app_context():
        message = db.session.scalar(sa.select(OutboxMessage))
        assert message.state == "pending"
        assert "timed out" in message.last_error


def test_the_rate_limit_holds_across_runs(make_app, smtp, clock):
    app = make_app(MAIL_MAX_PER_MINUTE=5, OUTBOX_BATCH_SIZE=2)
    with app.app_context():
        queue_messages(12)

    first = drain_once(app)
    again = drain_once(app)
    clock.advance(seconds=30)
    still = drain_once(app)
    clock.advance(seconds=31)
    next_minute = drain_once(app)

    assert (first["sent"], first["rate_limited"]) == (5, True)
    assert (again["sent"], still["sent"]) == (0, 0)
    assert next_minute["sent"] == 5
    assert len(smtp.messages) == 10
    with app.app_context():
        assert states() == {"sent": 10, "pending": 2}


def test_redirect_all_sends_to_one_address_and_keeps_the_original_recipients(make_app, smtp):
    app = make_app(MAIL_REDIRECT_ALL_TO="staging@example.org")
    with app.app_context():
        outbox.enqueue(key="k", to_addr="ana@example.org", cc="boss@example.org",
                       bcc="audit@example.org", subject="Hi", body_html="<p>Hi</p>",
                       body_text="Hi")
        db.session.commit()
    drain_once(app)

    [received] = smtp.messages
    assert received.rcpt_tos == ["staging@example.org"]
    assert received["To"] == "staging@example.org"
    assert received["Cc"] is None
    assert received["X-Missive-Original-Recipients"] == (
        "ana@example.org, boss@example.org, audit@example.org")


def test_suppress_send_records_without_sending(make_app, smtp):
    app = make_app(MAIL_SUPPRESS_SEND=True)
    with app.app_context():
        queue_messages(3)

    assert drain_once(app)["sent"] == 3

    assert smtp.messages == [] and smtp.sessions == 0
    with app.app_context():
        assert states() == {"sent": 3}
        outcomes = db.session.scalars(sa.select(OutboxAttempt.outcome)).all()
        assert outcomes == ["suppressed"] * 3


def test_an_expired_lease_returns_the_row_to_pending_without_spending_an_attempt(app, clock):
    with app.app_context():
        queue_messages(2)
        claimed = outbox_queue.claim_due("dead-worker", 10)
        assert len(claimed) == 2 and states() == {"sending": 2}
        assert outbox_queue.claim_due("other-worker", 10) == []

        assert outbox_queue.release_expired_leases() == 0
        clock.advance(seconds=app.config["OUTBOX_LEASE_SECONDS"] + 1)
        assert outbox_queue.release_expired_leases() == 2

        assert states() == {"pending": 2}
        rows = db.session.scalars(sa.select(OutboxMessage)).all()
        assert [(r.attempts, r.lease_owner) for r in rows] == [(0, None), (0, None)]
        assert len(outbox_queue.claim_due("other-worker", 10)) == 2


def test_an_outcome_from_a_worker_whose_lease_was_taken_over_changes_nothing(app, smtp, clock):
    with app.app_context():
        queue_messages(1)
        [stale] = outbox_queue.claim_due("slow-worker", 10)
        clock.advance(seconds=app.config["OUTBOX_LEASE_SECONDS"] + 1)
        outbox_queue.release_expired_leases()
        [fresh] = outbox_queue.claim_due("new-worker", 10)
        late = outbox_queue.Result(stale, outbox_queue.Outcome.PERMANENT, 550, "late")
        outbox_queue.record_results([late], "slow-worker")
        message = db.session.scalar(sa.select(OutboxMessage))
        assert (message.state, message.lease_owner) == ("sending", fresh.lease_owner)


def test_purge_deletes_old_sent_and_cancelled_rows_in_batches(make_app, smtp, clock):
    app = make_app(OUTBOX_RETENTION_DAYS=90, OUTBOX_PURGE_BATCH_SIZE=2)
    with app.app_context():
        queue_messages(5)
    drain_once(app)
    with app.app_context():
        queue_messages(2, prefix="new")
        clock.advance(days=91)
        assert outbox.purge() == 5
        assert states() == {"pending": 2}
        assert db.session.scalar(sa.select(sa.func.count(OutboxAttempt.id))) == 0


def test_the_heartbeat_records_the_drain(app, smtp):
    from webapp.models.outbox import WorkerHeartbeat

    with app.app_context():
        queue_messages(2)
    drain_once(app, worker="w1")
    drain_once(app, worker="w1")
    with app.app_context():
        beat = db.session.get(WorkerHeartbeat, "w1")
        assert beat.sent_total == 2 and beat.last_drain_at is not None


def test_a_connection_the_server_drops_between_messages_is_reopened_once(make_app, smtp):
    app = make_app(OUTBOX_SMTP_CONNECTIONS=1)
    with app.app_context():
        ids = queue_messages(3)
    smtp.handler.close_after_data = True

    counts = drain_once(app)

    assert counts["sent"] == 3
    assert delivered(smtp) == {message_id: 1 for message_id in ids}
    assert smtp.sessions == 3  # one reconnection after each hang-up, no message lost or doubled
    with app.app_context():
        assert states() == {"sent": 3}
        assert db.session.scalar(sa.select(sa.func.max(OutboxMessage.attempts))) == 1
