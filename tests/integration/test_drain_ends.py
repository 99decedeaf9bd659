"""Every drain ends: a database error while recording outcomes stops the run, which rolls
back, logs, gives its rows back and returns; the next drain sends them, each exactly once."""

import logging
import re
import threading

import pytest
import sqlalchemy as sa

from jobs.cli import register as register_jobs
from jobs.drain import drain_once
from tests.outbox_support import clock_fixture, delivered, queue_messages, states  # noqa: F401
from webapp import outbox
from webapp.extensions import db
from webapp.models.outbox import OutboxMessage, WorkerHeartbeat

BOUND_SECONDS = 60  # a drain that does not end fails the test instead of hanging it


class FailingCommit:
    """Makes the database refuse the `nth` statement that records a group of outcomes: a real
    OperationalError from SQLAlchemy's execution path, as a lost connection gives."""

    def __init__(self, engine, nth: int):
        self.engine, self.nth, self.seen = engine, nth, 0

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if re.match(r"UPDATE outbox_messages SET state=\S+, attempts=", statement):
            self.seen += 1
            if self.seen == self.nth:
                raise sa.exc.OperationalError(statement, None,
                                              Exception("server closed the connection"))

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self)


def _drain_within_bound(app, **overrides):
    """drain_once in a thread; what it returned or raised, or a failure if it never ends."""
    outcome = {}

    def run():
        try:
            outcome["report"] = drain_once(app, "w1", **overrides)
        except Exception as error:
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(BOUND_SECONDS)
    assert not thread.is_alive(), "the drain did not end"
    return outcome


@pytest.mark.parametrize("connections", [1, 3])
def test_a_database_error_at_the_third_outcome_commit_ends_the_drain_and_loses_nothing(
        make_app, smtp, caplog, connections):
    app = make_app(OUTBOX_BATCH_SIZE=10, OUTBOX_SMTP_CONNECTIONS=connections)
    with app.app_context():
        ids = queue_messages(40)
        engine = db.engine
    with caplog.at_level(logging.ERROR, logger="missive.outbox"), FailingCommit(engine, 3):
        first = _drain_within_bound(app)

    assert isinstance(first.get("error"), sa.exc.OperationalError)
    [logged] = [r for r in caplog.records if r.getMessage().startswith("Drain by w1 failed")]
    assert logged.exc_info and "server closed the connection" in logged.getMessage()
    assert logged.name == "missive.outbox"  # the package's logger, like its queue's
    with app.app_context():
        left = states()
        # The outcomes already known were recorded; nothing is left leased to the dead run.
        assert "sending" not in left and left["sent"] == len(smtp.messages)
        # Given back without spending an attempt.
        assert db.session.scalar(sa.select(sa.func.max(OutboxMessage.attempts)).where(
            OutboxMessage.state == "pending")) in (0, None)
        heartbeat = db.session.get(WorkerHeartbeat, "w1")
        assert "OperationalError" in heartbeat.last_drain_error

    second = _drain_within_bound(app)
    assert "error" not in second
    assert delivered(smtp) == {message_id: 1 for message_id in ids}  # each exactly once
    with app.app_context():
        assert states() == {"sent": 40}
        assert db.session.get(WorkerHeartbeat, "w1").last_drain_error == ""


def test_flask_outbox_drain_exits_non_zero_with_the_error(app, smtp):
    with app.app_context():
        queue_messages(10)
        engine = db.engine
    register_jobs(app)
    with FailingCommit(engine, 1):
        result = app.test_cli_runner().invoke(args=["outbox", "drain"])
    assert result.exit_code == 1
    assert "Drain failed: OperationalError" in result.output
    with app.app_context():
        assert "sending" not in states()


def test_the_outbox_page_warns_when_drains_fail_or_stop_finishing(client, auth, app, smtp,
                                                                   clock):
    auth.login_as("admin")
    with app.app_context():
        queue_messages(3)
        engine = db.engine
    with FailingCommit(engine, 1):
        _drain_within_bound(app)
    banner = client.get("/outbox/counters").get_data(as_text=True)
    assert 'id="drain-failed"' in banner and "OperationalError" in banner
    assert "No worker" not in banner

    drain_once(app, "w1")
    assert 'id="drain-failed"' not in client.get("/outbox/counters").get_data(as_text=True)

    # The worker keeps beating, but its drains stop finishing.
    clock.advance(seconds=app.config["OUTBOX_DRAIN_STALE_SECONDS"] + 1)
    with app.app_context():
        outbox.beat("w1")
    banner = client.get("/outbox/counters").get_data(as_text=True)
    assert 'id="drains-stalled"' in banner and "No worker" not in banner
    drain_once(app, "w1")
    assert 'id="drains-stalled"' not in client.get("/outbox/counters").get_data(as_text=True)


def test_a_stop_asked_mid_drain_gives_the_rest_back_without_spending_attempts(make_app, smtp):
    app = make_app(OUTBOX_BATCH_SIZE=20, OUTBOX_SMTP_CONNECTIONS=2)
    with app.app_context():
        ids = queue_messages(100)
    stop = threading.Event()

    def stop_after_ten(received):
        if len(smtp.handler.messages) == 9:
            stop.set()
        return None

    smtp.handler.data_reply = stop_after_ten
    report = drain_once(app, "w1", stop=stop)
    assert report["stopped"] and report["released"] > 0 and report["error"] == ""
    assert report["sent"] + report["released"] == report["claimed"]
    with app.app_context():
        assert states() == {"sent": report["sent"], "pending": 100 - report["sent"]}
        assert db.session.scalar(sa.select(sa.func.max(OutboxMessage.attempts)).where(
            OutboxMessage.state == "pending")) == 0
    smtp.handler.data_reply = None
    drain_once(app, "w1")
    assert delivered(smtp) == {message_id: 1 for message_id in ids}


