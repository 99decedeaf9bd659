"""How outbox rows reach the SMTP server: the drain.

A run claims batches of due rows and sends them over `OUTBOX_SMTP_CONNECTIONS` SMTP connections
(one per sending thread, kept for the whole run, so never more than one per batch). Outcomes go
back to the calling thread, which commits whatever has arrived as one group. A message's
content goes out only when fewer than OUTBOX_UNRECORDED_MAX earlier messages of its connection
await that commit: with 1 (the default), a crash can resend only the message each connection
had in flight. The wait sits after the server's 354 (DATA accepted), so the next message's
envelope round trips overlap the previous outcome's commit.
"""

import logging
import queue
import threading
import time
from dataclasses import dataclass, fields
from datetime import timedelta

from flask import current_app

from webapp.core import clock
from webapp.outbox import queue as outbox_queue
from webapp.outbox.queue import Claimed, Outcome, Result
from webapp.outbox.sending import Abandoned, Sender
from webapp.outbox.settings import Settings

log = logging.getLogger("missive.mailer")


@dataclass
class DrainReport:
    """What one run did."""

    batches: int = 0
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    released: int = 0
    circuit_open: bool = False
    rate_limited: bool = False

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


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


# --- The run -------------------------------------------------------------------------------


class _Run:
    """One drain run. Sender threads, each with one SMTP connection kept for the whole run, take
    rows from a work queue that this (the caller's) thread fills batch after batch; this thread
    also commits the outcomes the senders hand back, whatever has arrived as one group.

    A sender may run ahead of the commits by at most `unrecorded_max` messages: that is how many
    of its messages a crash can leave sent but not marked sent. The next batch is claimed while
    the senders still have a few rows to send, so they never wait for a claim."""

    def __init__(self, settings: Settings, worker: str, report: DrainReport):
        self.settings = settings
        self.worker = worker
        self.report = report
        self.work: queue.SimpleQueue[Claimed] = queue.SimpleQueue()
        self.done: queue.Queue[tuple[Result, threading.Semaphore] | None] = queue.Queue()
        self.no_more_work = threading.Event()
        self.stop = threading.Event()
        self.breaker = Breaker(settings.breaker_failures)
        self.outstanding: dict[int, Claimed] = {}
        self.senders: list[Sender] = []
        self.threads: list[threading.Thread] = []
        self.running = 0
        self.lease_check = time.monotonic() + settings.lease_seconds / 3

    def feed(self, rows: list[Claimed]) -> None:
        """Queue a claimed batch; return when the senders are about to run out of work."""
        for row in rows:
            self.outstanding[row.id] = row
            self.work.put(row)
        while len(self.threads) < min(self.settings.connections, len(self.outstanding)):
            sender = Sender(self.settings, self.breaker)
            thread = threading.Thread(target=self._send, args=(sender,), daemon=True)
            self.senders.append(sender)
            self.threads.append(thread)
            self.running += 1
            thread.start()
        low_water = self.settings.connections * self.settings.unrecorded_max
        while self.running and self.work.qsize() > low_water and not self.breaker.open:
            self._record_some()

    def finish(self) -> None:
        """Record the last outcomes, close the connections, release what was not sent."""
        self.no_more_work.set()
        try:
            while self.running:
                self._record_some()
        finally:
            self.stop.set()
            for thread in self.threads:
                thread.join(self.settings.timeout + 5)
        left = list(self.outstanding.values())
        if left:
            pause = clock.now() + timedelta(seconds=self.settings.breaker_pause)
            self.report.released += outbox_queue.release(left, not_before=pause)
        if self.breaker.open:
            self.report.circuit_open = True
            log.warning("Circuit breaker open after %s connection failures: %s messages "
                        "released", self.breaker.consecutive, len(left))

    def _send(self, sender: Sender) -> None:
        # Taken before a message's content goes out, given back when its outcome is
        # committed: at most `unrecorded_max` messages of this connection are delivered but
        # not yet recorded. The envelope of the next message (MAIL, RCPT, DATA: three of the
        # four round trips) goes on meanwhile.
        ahead = threading.Semaphore(self.settings.unrecorded_max)

        def before_body() -> None:
            while not ahead.acquire(timeout=0.5):
                if self.stop.is_set():
                    raise Abandoned()
            taken.append(True)

        try:
            while not self.breaker.open and not self.stop.is_set():
                row = self._next_row()
                if row is None:
                    if self.no_more_work.is_set():
                        return
                    continue
                taken: list[bool] = []
                try:
                    result = sender.send(row, before_body)
                except Abandoned:
                    return  # not sent: the row is released with the others left
                except Exception as error:  # never lose a claimed row to a bug
                    log.exception("Sending message %s failed", row.id)
                    result = Result(row, Outcome.TEMPORARY, None, f"Worker error: {error!r}")
                self.done.put((result, ahead if taken else None))
        finally:
            sender.close()
            self.done.put(None)  # this sender is finished

    def _next_row(self) -> Claimed | None:
        try:
            return self.work.get(timeout=0.05)
        except queue.Empty:
            return None

    def _record_some(self) -> None:
        try:
            items = [self.done.get(timeout=1)]
        except queue.Empty:
            if not any(t.is_alive() for t in self.threads):
                self.running = 0
            return
        # Wait briefly for more outcomes while some sender can still run ahead: one commit
        # for several outcomes costs about what one commit for one outcome costs.
        full = self.running * self.settings.unrecorded_max
        linger_until = time.monotonic() + self.settings.record_linger
        while len(items) < full:
            try:
                items.append(self.done.get(timeout=max(0.0, linger_until - time.monotonic())))
            except queue.Empty:
                break
        group = [item for item in items if item is not None]
        self.running -= len(items) - len(group)
        outbox_queue.record_results([result for result, _ in group], self.worker)
        for result, ahead in group:
            if ahead:
                ahead.release()
            self.outstanding.pop(result.row.id, None)
            _count(self.report, result)
        if time.monotonic() > self.lease_check:
            outbox_queue.extend_leases(list(self.outstanding.values()))
            self.lease_check = time.monotonic() + self.settings.lease_seconds / 3


def _count(report: DrainReport, result: Result) -> None:
    if result.outcome in (Outcome.SENT, Outcome.SUPPRESSED):
        report.sent += 1
    elif result.outcome is Outcome.TEMPORARY and result.row.attempts + 1 < result.row.max_attempts:
        report.retried += 1
    else:
        report.failed += 1


def drain(worker: str = "drain", overrides: dict | None = None) -> DrainReport:
    """Send every row due when the run starts, batch after batch; call in an app context.

    Stops early when the circuit breaker opens or when MAIL_MAX_PER_MINUTE is used up (counted
    from the attempts table over the last minute, so the limit holds across runs)."""
    settings = Settings.from_config(current_app.config, overrides)
    report = DrainReport()
    started = clock.now()
    budget = None
    if settings.max_per_minute:
        window_start = started - timedelta(minutes=1)
        budget = settings.max_per_minute - outbox_queue.attempts_since(window_start)
    run = _Run(settings, worker, report)
    try:
        while not run.breaker.open:
            limit = settings.batch_size
            if budget is not None:
                limit = min(limit, budget - report.claimed)
                if limit <= 0:
                    report.rate_limited = True
                    break
            rows = outbox_queue.claim_due(worker, limit, due_before=started)
            if not rows:
                break
            report.batches += 1
            report.claimed += len(rows)
            run.feed(rows)
    finally:
        run.finish()
    if report.claimed:
        log.info("Drain by %s: %s", worker, report.as_dict())
    return report
