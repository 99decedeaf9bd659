"""Worker heartbeats: one row per worker process, so the web app can tell it is alive.

`beat` and `forget_worker` commit their own transaction.
"""

import sqlalchemy as sa

from webapp.core import clock
from webapp.extensions import db
from webapp.models import WorkerHeartbeat


def beat(worker: str, *, drained: bool = False, sent: int = 0) -> None:
    """Note that `worker` is alive (and, after a drain, when it drained and how much)."""
    try:
        _beat(worker, drained, sent)
    except sa.exc.IntegrityError:  # the worker's other job created the row meanwhile
        db.session.rollback()
        _beat(worker, drained, sent)


def _beat(worker: str, drained: bool, sent: int) -> None:
    now = clock.now()
    heartbeat = db.session.get(WorkerHeartbeat, worker)
    if heartbeat is None:
        heartbeat = WorkerHeartbeat(worker=worker, started_at=now, sent_total=0)
        db.session.add(heartbeat)
    heartbeat.last_seen_at = now
    if drained:
        heartbeat.last_drain_at = now
        heartbeat.sent_total = (heartbeat.sent_total or 0) + sent
    db.session.commit()


def forget_worker(worker: str) -> None:
    """A worker stopping cleanly removes its heartbeat row."""
    db.session.execute(sa.delete(WorkerHeartbeat).where(WorkerHeartbeat.worker == worker))
    db.session.commit()
