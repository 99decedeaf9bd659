"""Worker processes against the real SMTP fixture and the real databases: a kill in the middle
of a batch, and several workers draining one outbox at once."""

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from tests.outbox_support import clock_fixture, delivered, queue_messages, states  # noqa: F401
from webapp import ROOT
from webapp.extensions import db
from webapp.models import OutboxAttempt, OutboxMessage
from webapp.outbox import queue as outbox_queue

pytestmark = pytest.mark.slow
WAIT_SECONDS = 60


def _worker(database_url, smtp, tmp_path, *args, **settings):
    env = {**os.environ, "MISSIVE_INSTANCE_PATH": str(tmp_path / "worker-instance"),
           "FLASK_SECRET_KEY": "worker-test", "FLASK_SQLALCHEMY_DATABASE_URI": database_url,
           "FLASK_MAIL_SERVER": "127.0.0.1", "FLASK_MAIL_PORT": str(smtp.port),
           "FLASK_MAIL_SUPPRESS_SEND": "false", "FLASK_MAIL_TIMEOUT_SECONDS": "10"}
    env.update({f"FLASK_{name}": str(value) for name, value in settings.items()})
    env.pop("FLASK_EMBEDDED_WORKER", None)
    env.pop("FLASK_DEV_MAIL_CATCHER", None)
    with open(tmp_path / f"worker-{time.monotonic_ns()}.log", "wb") as log:
        return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", *args],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def _wait_until(condition, what):
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def test_a_worker_killed_mid_batch_loses_nothing_and_resends_at_most_the_in_flight_one(
        app, database_url, smtp, tmp_path, clock):
    with app.app_context():
        ids = queue_messages(150)
    in_data, release = threading.Event(), threading.Event()

    def hold_the_51st(received):
        if len(smtp.handler.messages) == 50 and not in_data.is_set():
            in_data.set()
            release.wait(WAIT_SECONDS)  # the worker is killed while waiting for this answer
        return None

    smtp.handler.data_reply = hold_the_51st
    # One connection, and the default OUTBOX_UNRECORDED_MAX: each outcome is committed before
    # the next message's content goes out, so at most the in-flight message may go twice.
    first = _worker(database_url, smtp, tmp_path, "outbox", "drain", OUTBOX_BATCH_SIZE=100,
                    OUTBOX_SMTP_CONNECTIONS=1)
    try:
        _wait_until(in_data.is_set, "the 51st message")
        first.send_signal(signal.SIGKILL)
        first.wait(WAIT_SECONDS)
    finally:
        release.set()
        if first.poll() is None:
            first.kill()
    _wait_until(lambda: len(smtp.messages) == 51, "the in-flight message to land")

    with app.app_context():
        assert states() == {"sent": 50, "sending": 50, "pending": 50}
        clock.advance(seconds=app.config["OUTBOX_LEASE_SECONDS"] + 1)
        assert outbox_queue.release_expired_leases() == 50

    second = _worker(database_url, smtp, tmp_path, "outbox", "drain")
    assert second.wait(WAIT_SECONDS) == 0

    received = delivered(smtp)
    assert set(received) == set(ids)  # nothing lost
    twice = [message_id for message_id, count in received.items() if count > 1]
    assert len(twice) <= 1 and all(received[m] == 2 for m in twice)
    with app.app_context():
        assert states() == {"sent": 150}


def test_three_worker_processes_drain_2000_messages_each_exactly_once(
        app, database_url, smtp, tmp_path):
    """Run on every configured database: on PostgreSQL the workers pass each other's rows by
    with SKIP LOCKED; on SQLite the guarded UPDATE serialises the claims."""
    with app.app_context():
        ids = queue_messages(2000)
    workers = [_worker(database_url, smtp, tmp_path, "outbox", "drain",
                       OUTBOX_BATCH_SIZE=50) for _ in range(3)]
    try:
        codes = [w.wait(WAIT_SECONDS * 3) for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()

    assert codes == [0, 0, 0]
    assert delivered(smtp) == {message_id: 1 for message_id in ids}
    with app.app_context():
        assert states() == {"sent": 2000}
        by_worker = Counter(db.session.scalars(
            sa.select(OutboxAttempt.worker)))
        assert sum(by_worker.values()) == 2000 and 1 <= len(by_worker) <= 3
        assert db.session.scalar(
            sa.select(sa.func.count()).select_from(OutboxMessage)
            .where(OutboxMessage.lease_owner.is_not(None))) == 0


def test_the_worker_command_drains_and_stops_cleanly_on_sigterm(app, database_url, smtp,
                                                                  tmp_path):
    from webapp.models import WorkerHeartbeat

    with app.app_context():
        ids = queue_messages(5)
    worker = _worker(database_url, smtp, tmp_path, "worker", OUTBOX_POLL_SECONDS=1)
    try:
        _wait_until(lambda: len(smtp.messages) == 5, "the worker's first drain")
        with app.app_context():
            _wait_until(lambda: db.session.scalar(
                sa.select(sa.func.count(WorkerHeartbeat.worker))) == 1 or
                db.session.rollback(), "the heartbeat")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(WAIT_SECONDS) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
    assert delivered(smtp) == {message_id: 1 for message_id in ids}
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(WorkerHeartbeat.worker))) == 0
