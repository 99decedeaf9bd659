"""Worker heartbeats: one row per worker process, so the web app can tell it is alive.

`beat` and `forget_worker` commit their own transaction.
"""

from datetime import datetime

import sqlalchemy as sa

from webapp.core import clock
from webapp.extensions import db
from webapp.models.outbox import WorkerHeartbeat


def beat(worker: str, *, drained: bool = False, sent: int = 0, error: str = "",
         paused_until: datetime | None = None,
         unreachable: tuple[datetime, str] | None = None) -> None:
    """Note that `worker` is alive (and, after a drain ended, when, how much it sent, why it
    failed if it did, and until when it pauses if the relay was unreachable). `unreachable`:
    since when, and why, the worker could not reach the database until this beat."""
    try:
        _beat(worker, drained, sent, error, paused_until, unreachable)
    except sa.exc.IntegrityError:  # the worker's other job created the row meanwhile
        db.session.rollback()
        _beat(worker, drained, sent, error, paused_until, unreachable)


def _beat(worker: str, drained: bool, sent: int, error: str,
          paused_until: datetime | None, unreachable: tuple[datetime, str] | None) -> None:
    now = clock.now()
    heartbeat = db.session.get(WorkerHeartbeat, worker)
    if heartbeat is None:
        heartbeat = WorkerHeartbeat(worker=worker, started_at=now, sent_total=0)
        db.session.add(heartbeat)
    heartbeat.last_seen_at = now
    if unreachable:
        heartbeat.db_unreachable_since, heartbeat.db_unreachable_until = unreachable[0], now
        heartbeat.db_error = unreachable[1][:2000]
    if drained:
        heartbeat.last_drain_at = now
        heartbeat.last_drain_error = error[:2000]
        heartbeat.paused_until = paused_until
        heartbeat.sent_total = (heartbeat.sent_total or 0) + sent
    db.session.commit()


def forget_worker(worker: str) -> None:
    """A worker stopping cleanly removes its heartbeat row."""
    db.session.execute(sa.delete(WorkerHeartbeat).where(WorkerHeartbeat.worker == worker))
    db.session.commit()
