"""The drain job: send what is due, then note it in this worker's heartbeat."""

import os
import socket

from flask import Flask

from webapp import outbox


def worker_name() -> str:
    """This process, as lease owner and heartbeat key."""
    return f"{socket.gethostname()}:{os.getpid()}"[:60]


def drain_once(app: Flask, worker: str | None = None, **overrides) -> dict:
    """Send every row due now and return the counts (batches, claimed, sent, retried, failed,
    released, circuit_open, rate_limited). `overrides` use config names, e.g.
    drain_once(app, OUTBOX_SMTP_CONNECTIONS=1, OUTBOX_BATCH_SIZE=500)."""
    worker = worker or worker_name()
    with app.app_context():
        report = outbox.drain(worker, overrides)
        outbox.beat(worker, drained=True, sent=report.sent)
        return report.as_dict()


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
