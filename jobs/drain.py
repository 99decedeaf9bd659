"""The drain job: send what is due, then note in this worker's heartbeat how it ended."""

import logging
import os
import socket
import threading
from datetime import datetime

from flask import Flask

from webapp import outbox
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
            _note(worker, error=f"{type(error).__name__}: {error}" or "failed")
            raise
        _note(worker, sent=report.sent, paused_until=report.paused_until)
        return report.as_dict()


def _note(worker: str, sent: int = 0, error: str = "", paused_until: str = "") -> None:
    try:
        outbox.beat(worker, drained=True, sent=sent, error=error,
                    paused_until=datetime.fromisoformat(paused_until) if paused_until else None)
    except Exception:  # the database may be what failed: the next beat says it
        db.session.rollback()
        log.warning("Could not note the drain in the heartbeat", exc_info=True)


def reap(app: Flask) -> int:
    """Return rows whose lease expired (their worker died) to pending."""
    with app.app_context():
        return outbox.reap()


def purge(app: Flask) -> int:
    """Delete sent and cancelled rows past the retention period."""
    with app.app_context():
        return outbox.purge()


def heartbeat(app: Flask, worker: str) -> None:
    with app.app_context():
        outbox.beat(worker)
