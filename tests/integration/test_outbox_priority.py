"""Priorities: urgent mail is claimed first, bulk mail is never starved, claims use an index."""

import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from jobs.drain import drain_once
from tests.outbox_support import queue_messages, states
from webapp.core import clock
from webapp.extensions import db
from webapp.models import OutboxPriority
from webapp.models.outbox import OutboxMessage
from webapp.outbox import queue as outbox_queue

URGENT, NORMAL, BULK = OutboxPriority.URGENT, OutboxPriority.NORMAL, OutboxPriority.BULK


def _claimed_priorities(rows) -> list[int]:
    return [row.priority for row in rows]


def test_a_claim_takes_urgent_then_normal_rows_and_the_oldest_bulk_row(app):
    with app.app_context():
        queue_messages(30, prefix="bulk", priority=BULK)  # oldest
        queue_messages(6, prefix="normal", priority=NORMAL)
        queue_messages(5, prefix="urgent", priority=URGENT)  # newest

        rows = outbox_queue.claim_due("w", 10)

    # 9 by priority (5 urgent, then the 4 oldest normal), 1 (10%) by age: the oldest bulk row.
    assert _claimed_priorities(rows) == [URGENT] * 5 + [NORMAL] * 4 + [BULK]
    assert [r.to_addr for r in rows if r.priority == BULK] == ["bulk0@example.org"]
    assert [r.to_addr for r in rows if r.priority == NORMAL] == [
        f"normal{i}@example.org" for i in range(4)]


def test_bulk_rows_move_on_while_urgent_mail_keeps_coming(app):
    with app.app_context():
        queue_messages(3, prefix="bulk", priority=BULK)
        taken = []
        for claim in range(3):
            queue_messages(20, prefix=f"urgent{claim}-", priority=URGENT)
            taken += outbox_queue.claim_due("w", 10)
    # Thirty claimed of sixty urgent rows, yet each claim also took one bulk row.
    assert sorted(r.to_addr for r in taken if r.priority == BULK) == [
        f"bulk{i}@example.org" for i in range(3)]


def test_an_urgent_claim_takes_only_urgent_rows(app):
    with app.app_context():
        queue_messages(5, prefix="bulk", priority=BULK)
        queue_messages(2, prefix="urgent", priority=URGENT)
        assert _claimed_priorities(outbox_queue.claim_due("w", 10, urgent_only=True)) == [
            URGENT, URGENT]


def _claim_queries(app) -> list[sa.Select]:
    """The SELECTs a claim runs, compiled with literal values for EXPLAIN."""
    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "outbox_messages" in statement:
            statements.append((statement, parameters))

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        outbox_queue.claim_due("w", 10)
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    return statements


def test_claims_seek_an_index_in_their_order_without_sorting(app):
    with app.app_context():
        # Many rows waiting for a retry, a few due of each priority.
        for priority in (URGENT, NORMAL, BULK):
            queue_messages(1000, prefix=f"later{priority}-", priority=priority)
        db.session.execute(sa.update(OutboxMessage).values(
            next_attempt_at=clock.now() + timedelta(hours=1)))
        for priority in (URGENT, NORMAL, BULK):
            queue_messages(3, prefix=f"due{priority}-", priority=priority)
        dialect = db.engine.dialect.name
        if dialect == "postgresql":
            db.session.execute(sa.text("ANALYZE outbox_messages"))
            db.session.commit()
        queries = _claim_queries(app)
        db.session.rollback()
        assert len(queries) == 4  # urgent, normal, bulk, then the oldest share
        for statement, parameters in queries:
            with db.engine.connect() as connection:
                if dialect == "sqlite":
                    plan = " / ".join(row[-1] for row in connection.exec_driver_sql(
                        "EXPLAIN QUERY PLAN " + statement, parameters))
                    assert "TEMP B-TREE" not in plan, plan
                    assert "USING" in plan and "INDEX ix_outbox_messages_" in plan, plan
                else:
                    plan = " / ".join(row[0] for row in connection.exec_driver_sql(
                        "EXPLAIN " + statement, parameters))
                    assert "Sort" not in plan and "Seq Scan" not in plan, plan
                    assert "ix_outbox_messages_" in plan, plan


def test_50_acknowledgements_queued_behind_5000_bulk_rows_overtake_the_backlog(make_app, smtp):
    """Each reaches the server in the claim that follows its commit (the drain claims urgent
    rows every OUTBOX_URGENT_CHECK_SECONDS, here at every outcome commit) and goes ahead of
    the bulk rows in hand: within a poll and a second of being queued, counted in messages."""
    app = make_app(OUTBOX_BATCH_SIZE=500, OUTBOX_SMTP_CONNECTIONS=4,
                   OUTBOX_URGENT_CHECK_SECONDS=0)
    with app.app_context():
        queue_messages(5000, prefix="bulk", priority=BULK)
    queued_at = []
    stop = threading.Event()

    def acknowledgements_arrive(received) -> None:
        delivered_so_far = len(smtp.handler.messages)
        if delivered_so_far == 99 and not queued_at:  # 50 candidates submit meanwhile
            queued_at.append(delivered_so_far)
            with app.app_context():
                queue_messages(50, prefix="ack", priority=URGENT)
        acks_before = sum(m.rcpt_tos[0].startswith("ack") for m in smtp.handler.messages)
        if received.rcpt_tos[0].startswith("ack") and acks_before == 49:
            stop.set()  # the backlog itself is not this test's subject
        return None

    smtp.handler.data_reply = acknowledgements_arrive
    report = drain_once(app, stop=stop)

    order = [m.rcpt_tos[0] for m in smtp.messages]
    acks = [i for i, address in enumerate(order) if address.startswith("ack")]
    assert len(acks) == 50 and report["stopped"]
    # Only what the connections already had in hand (the message each was sending, the one
    # waiting for its predecessor's commit, those claimed before the acknowledgements were
    # committed) goes before them: a few per connection, not the backlog.
    assert max(acks) < queued_at[0] + 50 + 4 * 4, acks
    with app.app_context():
        assert "sending" not in states()  # what the stopped drain held was given back
        assert db.session.scalar(sa.select(sa.func.count()).where(
            OutboxMessage.to_addr.like("ack%"), OutboxMessage.state == "sent")) == 50


def test_urgent_mail_queued_while_one_connection_hangs_goes_out_on_another(make_app, smtp):
    """The run's last message hangs (a relay that does not answer its content): an urgent row
    queued meanwhile is claimed and sent by another connection, not after the hang."""
    app = make_app(OUTBOX_SMTP_CONNECTIONS=4, MAIL_TIMEOUT_SECONDS=120,
                   OUTBOX_URGENT_CHECK_SECONDS=0.1)
    with app.app_context():
        queue_messages(8, prefix="normal")
        queue_messages(1, prefix="slow")  # the newest: claimed last
    hanging, release = threading.Event(), threading.Event()

    def hold(received):
        if received.rcpt_tos[0].startswith("slow"):
            hanging.set()
            return release
        return None

    smtp.handler.hold_reply = hold
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(drain_once(app, "w1")), daemon=True)
    thread.start()
    try:
        assert hanging.wait(30)
        _wait(lambda: len(smtp.messages) == 8, "the other messages")
        with app.app_context():
            queue_messages(1, prefix="urgent", priority=URGENT)
        # Well under the relay's 120 s timeout: the urgent row does not wait for the hang.
        _wait(lambda: any(m.rcpt_tos[0].startswith("urgent") for m in smtp.messages),
              "the urgent message", seconds=30)
        assert not release.is_set() and thread.is_alive()  # the hang still holds the run
    finally:
        release.set()
        thread.join(60)
    assert outcome["sent"] == 10 and len(smtp.messages) == 10


def _wait(condition, what, seconds=60):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def test_a_claim_that_loses_its_rows_to_another_worker_reads_again(app, database_url):
    # SQLite has no SKIP LOCKED: another worker can claim the rows this claim has just read
    # before its guarded UPDATE. It must take other due rows, not come back empty (a drain
    # that claims nothing ends while mail waits). PostgreSQL locks the rows it reads.
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's claim locks the rows it reads (SKIP LOCKED)")
    other = sa.create_engine(database_url)
    raced: list[int] = []

    def another_worker_first(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE OUTBOX_MESSAGES") and not raced:
            with other.begin() as rival:
                raced.extend(rival.execute(sa.text(
                    "UPDATE outbox_messages SET state = 'sending', lease_owner = 'rival' "
                    "WHERE state = 'pending' AND id IN (SELECT id FROM outbox_messages "
                    "ORDER BY id LIMIT 10) RETURNING id")).scalars())

    with app.app_context():
        queue_messages(25)
        engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", another_worker_first)
        try:
            rows = outbox_queue.claim_due("w", 10)
        finally:
            sa.event.remove(engine, "before_cursor_execute", another_worker_first)
        assert len(raced) == 10
        assert len(rows) == 10 and not {row.id for row in rows} & set(raced)
        leased = db.session.execute(sa.select(OutboxMessage.lease_owner, sa.func.count())
                                    .group_by(OutboxMessage.lease_owner)).all()
    other.dispose()
    assert sorted(leased, key=str) == sorted([(None, 5), ("rival", 10),
                                              (rows[0].lease_owner, 10)], key=str)
