"""The worker when its database goes silent or away: a real PostgreSQL behind a TCP proxy
(tests/tcp_proxy.py) that blackholes or cuts the worker's connections, real worker processes,
the real SMTP server."""

import signal
import subprocess

import pytest
import sqlalchemy as sa

from tests.integration.test_worker_processes import WAIT_SECONDS, _wait_until, _worker
from tests.outbox_support import clock_fixture, delivered, queue_messages, states  # noqa: F401
from tests.tcp_proxy import TCPProxy
from webapp.extensions import db
from webapp.outbox import queue as outbox_queue

ON_POSTGRESQL = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def proxy(database_url):
    url = sa.engine.make_url(database_url)
    forwarder = TCPProxy(url.host or "127.0.0.1", url.port or 5432)
    yield forwarder
    forwarder.close()


def test_database_connections_bound_every_wait(app):
    with app.app_context(), db.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
            return
        assert connection.exec_driver_sql("SHOW statement_timeout").scalar() == "1min"
        parameters = connection.connection.driver_connection.info.get_parameters()
        assert parameters["connect_timeout"] == "10"
        assert parameters["keepalives"] == "1" and parameters["tcp_user_timeout"] == "30000"


@pytest.mark.slow
@ON_POSTGRESQL
def test_sigterm_ends_the_worker_within_its_bound_while_the_database_is_blackholed(
        app, database_url, smtp, tmp_path, proxy, clock):
    with app.app_context():
        ids = queue_messages(400)
    smtp.handler.reply_delay = 0.005  # a drain long enough to be caught in the middle
    grace, commit = 2, 2
    worker = _worker(proxy.url(database_url), smtp, tmp_path, "worker", OUTBOX_POLL_SECONDS=1,
                     OUTBOX_BATCH_SIZE=50, OUTBOX_SMTP_CONNECTIONS=2,
                     OUTBOX_STOP_GRACE_SECONDS=grace, OUTBOX_STOP_COMMIT_SECONDS=commit)
    try:
        _wait_until(lambda: len(smtp.messages) >= 20, "the drain to be under way")
        proxy.pause()  # its next database call waits for an answer that never comes
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(grace + commit + 10)  # the bound, and 10 s for the process itself
        except subprocess.TimeoutExpired:
            pytest.fail("the worker did not stop within its bound")
    finally:
        proxy.cut(refuse=True)  # the server ends the dead worker's sessions
        if worker.poll() is None:
            worker.kill()
    log = worker.log_path.read_text()
    assert "stopped without its last database writes" in log

    smtp.handler.reply_delay = 0
    with app.app_context():
        clock.advance(seconds=app.config["OUTBOX_LEASE_SECONDS"] + 1)
        outbox_queue.release_expired_leases()
    assert _worker(database_url, smtp, tmp_path, "outbox", "drain").wait(WAIT_SECONDS) == 0
    received = delivered(smtp)
    assert set(received) == set(ids)  # nothing lost
    assert sum(count - 1 for count in received.values()) <= 2  # one per connection at most
    with app.app_context():
        assert states() == {"sent": 400}
