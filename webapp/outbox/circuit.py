"""The circuit breaker of the drain: consecutive connection failures stop a run, and the
worker then pauses as a whole, longer each time the relay is still down after a pause."""

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app

from webapp.core import clock
from webapp.outbox.settings import Settings

# The longest pause: the relay is tried again at least this often.
MAX_PAUSE_SECONDS = 300


class Breaker:
    """Counts consecutive connection-level failures across the run's connections."""

    def __init__(self, limit: int):
        self.limit = max(1, limit)
        self.consecutive = 0
        self.open = False
        self._lock = threading.Lock()

    def failure(self) -> None:
        with self._lock:
            self.consecutive += 1
            if self.consecutive >= self.limit:
                self.open = True

    def success(self) -> None:
        with self._lock:
            self.consecutive = 0


# --- The pause across runs ----------------------------------------------------------------


@dataclass
class _Pause:
    until: datetime
    streak: int  # consecutive runs whose breaker opened: each doubles the pause


# When the relay is down, the worker pauses as a whole instead of claiming a new batch and
# failing it every poll. The pauses live with the app (one per worker process), per worker name.
_pauses_lock = threading.Lock()


def _pauses() -> dict[str, _Pause]:
    return current_app.extensions.setdefault("missive.outbox.pauses", {})


def paused_until(worker: str) -> datetime | None:
    """When `worker` may try the relay again, if it is pausing."""
    with _pauses_lock:
        pause = _pauses().get(worker)
    return pause.until if pause else None


def open_circuit(worker: str, settings: Settings) -> datetime:
    """The breaker opened: pause OUTBOX_CIRCUIT_BREAKER_PAUSE_SECONDS, doubled each time it
    opens again in a row, up to MAX_PAUSE_SECONDS."""
    with _pauses_lock:
        pauses = _pauses()
        streak = pauses[worker].streak + 1 if worker in pauses else 1
        seconds = min(settings.breaker_pause * 2 ** (streak - 1), MAX_PAUSE_SECONDS)
        until = clock.now() + timedelta(seconds=seconds)
        pauses[worker] = _Pause(until, streak)
    return until


def close_circuit(worker: str) -> None:
    with _pauses_lock:
        _pauses().pop(worker, None)
