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
from webapp.models.outbox import OutboxAttempt, OutboxMessage
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
    log_path = tmp_path / f"worker-{time.monotonic_ns()}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", *args],
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    process.log_path = log_path
    return process


def _wait_until(condition, what, seconds=WAIT_SECONDS, running=()):
    """Wait for `condition`; fail at once, with its log, if one of the `running` worker
    processes ended meanwhile (it can no longer bring the condition about)."""
    deadline = time.monotonic() + seconds
    while not condition():
        for process in running:
            code = process.poll()
            assert code is None, (f"a worker ended ({code}) before {what}:\n"
                                  + process.log_path.read_text()[-3000:])
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
        _wait_until(in_data.is_set, "the 51st message", running=[first])
        first.send_signal(signal.SIGKILL)
        first.wait(WAIT_SECONDS)
    finally:
        release.set()
        if first.poll() is None:
            first.kill()
            first.wait()
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


def _claimers() -> int:
    """How many workers hold leased rows."""
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count(sa.distinct(OutboxMessage.lease_owner))))


def test_three_worker_processes_drain_600_messages_each_exactly_once(
        app, database_url, smtp, tmp_path):
    """Run on every configured database: on PostgreSQL the workers pass each other's rows by
    with SKIP LOCKED; on SQLite the guarded UPDATE serialises the claims. The relay holds its
    answers until each worker has claimed a batch, so that all three drain at once however
    far apart they started."""
    with app.app_context():
        ids = queue_messages(600)
    everyone_in = threading.Event()
    smtp.handler.hold_reply = lambda received: everyone_in
    workers = [_worker(database_url, smtp, tmp_path, "outbox", "drain", OUTBOX_BATCH_SIZE=50,
                       MAIL_TIMEOUT_SECONDS=WAIT_SECONDS * 3) for _ in range(3)]
    try:
        with app.app_context():  # each process starts the app first: a while on a busy machine
            _wait_until(lambda: _claimers() == 3, "a batch claimed by each worker",
                        WAIT_SECONDS * 3, running=workers)
        everyone_in.set()
        codes = [w.wait(WAIT_SECONDS * 3) for w in workers]
    finally:
        everyone_in.set()
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()

    assert codes == [0, 0, 0]
    assert delivered(smtp) == {message_id: 1 for message_id in ids}
    with app.app_context():
        assert states() == {"sent": 600}
        by_worker = Counter(db.session.scalars(
            sa.select(OutboxAttempt.worker)))
        assert sum(by_worker.values()) == 600 and len(by_worker) == 3
        assert db.session.scalar(
            sa.select(sa.func.count()).select_from(OutboxMessage)
            .where(OutboxMessage.lease_owner.is_not(None))) == 0


def test_the_worker_command_drains_and_stops_cleanly_on_sigterm(app, database_url, smtp,
                                                                  tmp_path):
    from webapp.models.outbox import WorkerHeartbeat

    with app.app_context():
        ids = queue_messages(5)
    worker = _worker(database_url, smtp, tmp_path, "worker", OUTBOX_POLL_SECONDS=1)
    try:
        _wait_until(lambda: len(smtp.messages) == 5, "the worker's first drain",
                    running=[worker])
        with app.app_context():
            _wait_until(lambda: db.session.scalar(
                sa.select(sa.func.count(WorkerHeartbeat.worker))) == 1 or
                db.session.rollback(), "the heartbeat")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(WAIT_SECONDS) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert delivered(smtp) == {message_id: 1 for message_id in ids}
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(WorkerHeartbeat.worker))) == 0


# pg_terminate_backend is PostgreSQL's: this test exists on that database only.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_worker_whose_database_connections_are_killed_mid_drain_survives_and_finishes(
        app, database_url, smtp, tmp_path):
    with app.app_context():
        ids = queue_messages(800)
    smtp.handler.reply_delay = 0.002  # a drain long enough to be caught in the middle
    killed = threading.Event()
    name = "missive-worker-under-test"

    def kill_its_connections(received):
        if len(smtp.handler.messages) == 200 and not killed.is_set():
            killed.set()
            with app.app_context():
                db.session.execute(sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :name"), {"name": name})
                db.session.commit()
        return None

    smtp.handler.data_reply = kill_its_connections
    url = f"{database_url}?application_name={name}"
    worker = _worker(url, smtp, tmp_path, "worker", OUTBOX_POLL_SECONDS=1,
                     OUTBOX_BATCH_SIZE=100, OUTBOX_SMTP_CONNECTIONS=4)
    try:
        _wait_until(killed.is_set, "the 200th message")
        with app.app_context():
            _wait_until(lambda: states() == {"sent": 800}, "every message sent")
        assert worker.poll() is None  # it survived
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(WAIT_SECONDS) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    log = worker.log_path.read_text()
    assert "failed: OperationalError" in log and "Traceback" in log  # the error, logged
    received = delivered(smtp)
    assert set(received) == set(ids)  # nothing lost
    twice = [message_id for message_id, count in received.items() if count > 1]
    assert len(twice) <= 4 and all(received[m] == 2 for m in twice)  # one per connection


def test_sigterm_mid_drain_ends_the_worker_within_the_bound_and_gives_its_rows_back(
        app, database_url, smtp, tmp_path):
    with app.app_context():
        ids = queue_messages(600)
    # Four replies a message, 20 ms each, four connections: at least 12 s for the drain, far
    # longer than the bound.
    smtp.handler.reply_delay = 0.02
    worker = _worker(database_url, smtp, tmp_path, "worker", OUTBOX_POLL_SECONDS=1,
                     OUTBOX_BATCH_SIZE=200, OUTBOX_SMTP_CONNECTIONS=4,
                     OUTBOX_STOP_GRACE_SECONDS=5)
    try:
        # The process starts the app first: a while on a busy machine.
        _wait_until(lambda: len(smtp.messages) >= 100, "the drain to be under way",
                    WAIT_SECONDS * 3, running=[worker])
        worker.send_signal(signal.SIGTERM)
        # The bound: the stop grace, plus one commit and the process's own exit.
        assert worker.wait(5 + 15) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert "maximum number of running instances" not in worker.log_path.read_text()
    with app.app_context():
        left = states()
        assert "sending" not in left and left["pending"] > 0  # given back, not leased
        assert left["sent"] + left["pending"] == 600
    smtp.handler.reply_delay = 0
    assert _worker(database_url, smtp, tmp_path, "outbox", "drain").wait(WAIT_SECONDS) == 0
    received = delivered(smtp)
    assert set(received) == set(ids)
    assert sum(count - 1 for count in received.values()) <= 4  # at most one per connection
