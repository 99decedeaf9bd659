"""The worker when its database goes silent or away: a real PostgreSQL behind a TCP proxy
(tests/tcp_proxy.py) that blackholes or cuts the worker's connections, real worker processes,
the real SMTP server."""

import signal
import subprocess

import pytest
import sqlalchemy as sa

from jobs.drain import drain_once
from tests import factories
from tests.integration.test_worker_processes import WAIT_SECONDS, _wait_until, _worker
from tests.outbox_support import clock_fixture, delivered, queue_messages, states  # noqa: F401
from tests.tcp_proxy import TCPProxy
from webapp import outbox
from webapp.extensions import db
from webapp.models import Role
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


def test_the_page_shows_rows_leased_to_a_worker_that_is_not_sending_them(client, auth, app,
                                                                          clock):
    auth.login_as("admin")
    with app.app_context():
        queue_messages(7)
        outbox_queue.claim_due("ghost:1", 5)  # a worker with no heartbeat: nobody sends them
        outbox.beat("alive:2")
        outbox_queue.claim_due("alive:2", 2)  # a live worker's rows are being sent
    page = client.get("/outbox/counters").get_data(True)
    assert "5 messages are leased to a worker that is not sending them" in page

    clock.advance(seconds=app.config["OUTBOX_WORKER_STALE_SECONDS"] + 1)
    page = client.get("/outbox/counters").get_data(True)
    assert "7 messages are leased to a worker that is not sending them" in page


def test_the_page_says_when_a_worker_could_not_reach_the_database(client, auth, app, clock):
    auth.login_as("admin")
    with app.app_context():
        since = clock.now()
        clock.advance(seconds=40)
        outbox.beat("w1", unreachable=(since, "OperationalError: connection refused"))
    page = client.get("/outbox/counters").get_data(True)
    assert "The worker w1 could not reach the database from" in page
    assert "OperationalError: connection refused" in page


def test_a_drain_first_gives_back_what_an_earlier_run_of_its_worker_could_not(app, smtp):
    with app.app_context():
        ids = queue_messages(4)
        outbox_queue.claim_due("w1", 3)  # an earlier run of w1, cut off before it released them
        outbox_queue.claim_due("w10", 1)  # another worker's run
    report = drain_once(app, "w1")
    assert report["sent"] == 3  # at once, not when the lease expires
    assert set(delivered(smtp)) == set(ids[:3])
    with app.app_context():
        assert states() == {"sent": 3, "sending": 1}


@pytest.mark.slow
@ON_POSTGRESQL
def test_a_worker_cut_off_from_its_database_says_so_and_gives_its_rows_back_when_it_can(
        make_app, database_url, smtp, tmp_path, proxy):
    app = make_app(OUTBOX_WORKER_STALE_SECONDS=3)
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    with app.app_context():
        ids = queue_messages(300)
        factories.make_user(Role.ADMIN, email="admin@example.org")
        db.session.commit()
    client.post("/auth/login", data={"email": "admin@example.org", "password": factories.PASSWORD})
    smtp.handler.reply_delay = 0.005
    # A lease far longer than the test: only the worker itself can give its rows back.
    worker = _worker(proxy.url(database_url), smtp, tmp_path, "worker", OUTBOX_POLL_SECONDS=1,
                     OUTBOX_HEARTBEAT_SECONDS=1, OUTBOX_LEASE_SECONDS=3600,
                     OUTBOX_BATCH_SIZE=50, OUTBOX_SMTP_CONNECTIONS=2,
                     DATABASE_CONNECT_TIMEOUT_SECONDS=2)
    try:
        _wait_until(lambda: len(smtp.messages) >= 30, "the drain to be under way")
        proxy.cut(refuse=True)
        _wait_until(lambda: "leased to a worker that is not sending" in client.get(
            "/outbox/counters").get_data(True), "the page to show the rows nobody sends")
        proxy.restore()
        with app.app_context():
            _wait_until(lambda: states() == {"sent": 300}, "every message sent")
        page = client.get("/outbox/counters").get_data(True)
        assert "could not reach the database from" in page
        assert "leased to a worker" not in page
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(WAIT_SECONDS) == 0
    finally:
        proxy.cut()
        if worker.poll() is None:
            worker.kill()
    received = delivered(smtp)
    assert set(received) == set(ids)  # nothing lost
    assert sum(count - 1 for count in received.values()) <= 2  # one per connection at most


@ON_POSTGRESQL
def test_the_database_urls_own_server_options_are_kept_beside_the_statement_timeout(
        make_app, database_url):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"{database_url}?options=-c%20lock_timeout%3D7s")
    with app.app_context(), db.engine.connect() as connection:
        assert connection.exec_driver_sql("SHOW lock_timeout").scalar() == "7s"
        assert connection.exec_driver_sql("SHOW statement_timeout").scalar() == "1min"
