"""The drain job: send what is due, then note in this worker's heartbeat how it ended."""

import logging
import os
import socket
import threading
from datetime import datetime

import sqlalchemy as sa
from flask import Flask

from webapp import outbox
from webapp.core import clock
from webapp.extensions import db

log = logging.getLogger("missive.worker")


def worker_name() -> str:
    """This process, as lease owner and heartbeat key."""
    return f"{socket.gethostname()}:{os.getpid()}"[:60]


def drain_once(app: Flask, worker: str | None = None, stop: threading.Event | None = None,
               **overrides) -> dict:
    """Send every row due now and return the counts (batches, claimed, sent, retried, failed,
    released, circuit_open, rate_limited, stopped, error, paused_until). `overrides` use
    config names, e.g. drain_once(app, OUTBOX_SMTP_CONNECTIONS=1, OUTBOX_BATCH_SIZE=500).
    A failed drain is noted in the heartbeat and raised; `stop` ends a drain early."""
    worker = worker or worker_name()
    with app.app_context():
        try:
            report = outbox.drain(worker, overrides, stop=stop)
        except Exception as error:
            _unreachable(worker, error)
            _note(worker, error=f"{type(error).__name__}: {error}" or "failed")
            raise
        _note(worker, sent=report.sent, paused_until=report.paused_until)
        return report.as_dict()


# Since when, and why, each worker of this process could not reach the database: kept here
# while it cannot write, written to its heartbeat by the first beat that can.
_outages: dict[str, tuple[datetime, str]] = {}
_outages_lock = threading.Lock()


def _unreachable(worker: str, error: BaseException) -> bool:
    """Note a lost database (a connection error, not a refused statement); whether it was."""
    if not isinstance(error, sa.exc.DBAPIError) or not (
            error.connection_invalidated or isinstance(error, sa.exc.OperationalError)):
        return False
    reason = f"{type(error.orig or error).__name__}: {error.orig or error}".strip()
    with _outages_lock:
        _outages.setdefault(worker, (clock.now(), reason.splitlines()[0] if reason else ""))
    return True


def _beat(worker: str, **fields) -> None:
    """One heartbeat, saying since when the database was unreachable if it was."""
    with _outages_lock:
        outage = _outages.get(worker)
    outbox.beat(worker, unreachable=outage, **fields)
    if outage:
        with _outages_lock:
            if _outages.get(worker) == outage:
                del _outages[worker]
        log.warning("Worker %s reaches the database again (unreachable since %s: %s)",
                    worker, outage[0].isoformat(timespec="seconds"), outage[1])


def _note(worker: str, sent: int = 0, error: str = "", paused_until: str = "") -> None:
    try:
        _beat(worker, drained=True, sent=sent, error=error,
              paused_until=datetime.fromisoformat(paused_until) if paused_until else None)
    except Exception as failure:  # the database may be what failed: the next beat says it
        _rollback()
        _unreachable(worker, failure)
        log.warning("Could not note the drain in the heartbeat", exc_info=True)


def _rollback() -> None:
    try:
        db.session.rollback()
    except Exception:  # the connection is gone: the next use takes a new one
        log.debug("Rollback failed", exc_info=True)


def reap(app: Flask) -> int:
    """Return rows whose lease expired (their worker died) to pending."""
    with app.app_context():
        return outbox.reap()


def purge(app: Flask) -> int:
    """Delete sent and cancelled rows past the retention period."""
    with app.app_context():
        return outbox.purge()


def heartbeat(app: Flask, worker: str) -> None:
    """Note that the worker is alive; when the database cannot be reached, remember since
    when, to say it as soon as it can be written again."""
    with app.app_context():
        try:
            _beat(worker)
        except Exception as error:
            _rollback()
            if not _unreachable(worker, error):
                raise
            log.warning("Worker %s cannot reach the database: %s", worker, error.orig)
