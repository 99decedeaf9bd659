"""How outbox rows reach the SMTP server: the drain.

A run claims batches of due rows and sends them from a fixed pool of sender threads, up to
OUTBOX_SMTP_CONNECTIONS (fewer when fewer rows are due), each holding at most one SMTP
connection at a time: it is reused for message after message, and reopened by its thread when
the relay drops it. (An adaptive pool, starting with four connections and doubling them while
the outcome rate grew, was kept only if it beat this fixed pool by 5% at some delay and was
never 5% worse. Relay 0, 5 and 20 ms away, 3 rounds each, medians: 979/515/280 msgs/s against
1,145/510/316; again on a busier machine, 388/233/205 against 350/261/236. It went.) Outcomes
go back to the calling thread, which commits whatever has arrived as one group. A message's
content goes out only when fewer than OUTBOX_UNRECORDED_MAX earlier messages of its connection
await that commit: with 1 (the default), a crash can resend only the message each connection
had in flight. The wait sits after the server's 354 (DATA accepted), so the next message's
envelope round trips overlap the previous outcome's commit.

Every run ends. Whatever raises, in this thread or a sender's, the run stops its senders (each
wait below checks the run's stop event, set in a `finally`), rolls back, records the outcomes it
already has, releases the rows it still holds without spending their attempts, logs the error
with its traceback and raises it to the caller, all within OUTBOX_STOP_GRACE_SECONDS plus one
commit. A stop asked from outside (SIGTERM) ends the run the same way, without an error.
"""

import logging
import queue
import threading
import time
from dataclasses import dataclass, fields
from datetime import timedelta

from flask import current_app

from webapp.core import clock
from webapp.extensions import db
from webapp.outbox import queue as outbox_queue
from webapp.outbox.circuit import Breaker, close_circuit, open_circuit, paused_until
from webapp.outbox.queue import Claimed, Outcome, Result
from webapp.outbox.sending import Abandoned, Sender
from webapp.outbox.settings import Settings

log = logging.getLogger("missive.outbox")

# How long a commit may wait to take more outcomes with it.
RECORD_LINGER_SECONDS = 0.005


@dataclass
class DrainReport:
    """What one run did."""

    batches: int = 0
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    paused: int = 0  # the relay refused its certificate or our login: back to the queue
    released: int = 0
    circuit_open: bool = False
    rate_limited: bool = False
    stopped: bool = False  # asked to stop (SIGTERM) before the queue was done
    error: str = ""  # why the run failed, if it did
    paused_until: str = ""  # ISO time: the relay was unreachable, this worker waits till then

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# --- The run -------------------------------------------------------------------------------


class _Run:
    """One drain run. Sender threads, each with its SMTP connection (reopened when dropped),
    take rows from a work queue that this (the caller's) thread fills batch after batch; this
    thread also commits the outcomes the senders hand back, whatever has arrived as one group.

    A sender may run ahead of the commits by at most `unrecorded_max` messages: that is how many
    of its messages a crash can leave sent but not marked sent. The next batch is claimed while
    the senders still have a few rows to send, so they never wait for a claim."""

    def __init__(self, settings: Settings, worker: str, report: DrainReport,
                 stop_requested: threading.Event | None = None):
        self.settings = settings
        self.worker = worker
        self.report = report
        # Urgent rows claimed mid-run jump ahead of the bulk rows already queued.
        self.work: queue.PriorityQueue[tuple[int, int, Claimed]] = queue.PriorityQueue()
        self.done: queue.Queue[tuple[Result, threading.Semaphore | None] | None] = queue.Queue()
        self.no_more_work = threading.Event()
        self.stop = threading.Event()  # set when the run winds down: every wait checks it
        self.requested = stop_requested or threading.Event()  # a stop asked from outside
        self.errors: queue.SimpleQueue[BaseException] = queue.SimpleQueue()  # from senders
        self.breaker = Breaker(settings.breaker_failures)
        self.outstanding: dict[int, Claimed] = {}
        self.unrecorded: list[tuple[Result, threading.Semaphore | None]] = []
        self.senders: list[Sender] = []
        self.threads: list[threading.Thread] = []
        self.running = 0
        self.budget: int | None = None  # rows this run may still claim (MAIL_MAX_PER_MINUTE)
        self.lease_check = time.monotonic() + settings.lease_seconds / 3
        self.urgent_check = time.monotonic() + settings.urgent_check

    @property
    def halted(self) -> bool:
        return self.breaker.open or self.requested.is_set()

    def claim(self, due_before, urgent_only: bool = False,
              limit: int | None = None) -> list[Claimed]:
        """Claim the next batch (within the run's budget) and queue it."""
        limit = limit or self.settings.batch_size
        if self.budget is not None:
            limit = min(limit, self.budget - self.report.claimed)
            if limit <= 0:
                self.report.rate_limited = True
                return []
        rows = outbox_queue.claim_due(self.worker, limit, due_before=due_before,
                                      urgent_only=urgent_only)
        if rows:
            self.report.batches += 1
            self.report.claimed += len(rows)
        for row in rows:
            self.outstanding[row.id] = row
            self.work.put((row.priority, row.id, row))
        return rows

    def feed(self) -> None:
        """Start the senders the queued rows need; return when they are about to run out of
        work. Meanwhile urgent rows that became due are claimed every `urgent_check` seconds:
        they need not wait for the batches ahead of them."""
        self._start_senders()
        low_water = self.settings.connections * self.settings.unrecorded_max
        while self.running and self.work.qsize() > low_water and not self.halted:
            self._record_some()
            if time.monotonic() > self.urgent_check:
                self.claim(None, urgent_only=True)
                self.urgent_check = time.monotonic() + self.settings.urgent_check

    def _start_senders(self) -> None:
        """Up to OUTBOX_SMTP_CONNECTIONS senders, no more than the rows held."""
        while self.running < min(self.settings.connections, len(self.outstanding)):
            sender = Sender(self.settings, self.breaker)
            thread = threading.Thread(target=self._send, args=(sender,), daemon=True,
                                      name=f"outbox-sender-{len(self.threads)}")
            self.senders.append(sender)
            self.threads.append(thread)
            self.running += 1
            thread.start()

    def finish_probe(self) -> None:
        """Wait for the probe's outcomes: the breaker opens again, or the relay answered."""
        while self.outstanding and self.running and not self.halted:
            self._record_some()

    def finish(self) -> None:
        """No more work: record the outcomes as the senders finish their rows. While one of
        them is still in an exchange (a relay that does not answer holds it up to
        MAIL_TIMEOUT_SECONDS), urgent rows that become due are claimed and sent by the run's
        other connections: they never wait for the one that hangs."""
        self.no_more_work.set()
        while self.running and not self.halted:
            self._record_some()
            if self.running and time.monotonic() > self.urgent_check:
                self.claim(None, urgent_only=True)
                self.urgent_check = time.monotonic() + self.settings.urgent_check
            if self.running and not self.work.empty():
                # Senders for the rows waiting, up to every connection allowed: the others may
                # have left (no more work), and the one still running may be the one that
                # hangs. Checked at every turn, not only after a claim: a sender that has
                # left is counted out only once its end is recorded.
                self._start_senders()

    def wind_down(self, failed: bool) -> None:
        """Stop the senders, record what they did, give back what they did not; never raises.

        Senders waiting to send a message's content give it up at once (it was not sent);
        one in the middle of an exchange has OUTBOX_STOP_GRACE_SECONDS to finish it, after
        which its row is released too (at most that message may then go twice)."""
        self.no_more_work.set()
        self.stop.set()
        deadline = time.monotonic() + self.settings.stop_grace
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        stuck = sum(thread.is_alive() for thread in self.threads)
        if stuck:
            log.warning("%s SMTP connections still busy after %ss: their messages are released",
                        stuck, self.settings.stop_grace)
        while True:
            try:
                item = self.done.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                self.unrecorded.append(item)
        try:
            db.session.rollback()  # whatever the failure left half done
            results = [result for result, _ in self.unrecorded]
            outbox_queue.record_results(results, self.worker)
            for result in results:
                self.outstanding.pop(result.row.id, None)
                _count(self.report, result)
            self.unrecorded = []
            left = list(self.outstanding.values())
            if left:
                pause = None
                if self.breaker.open and not failed:
                    pause = clock.now() + timedelta(seconds=self.settings.breaker_pause)
                self.report.released += outbox_queue.release(left, not_before=pause)
        except Exception:
            _rollback()
            log.exception("Could not record or release the %s messages this run held: they "
                          "return to the queue when their lease expires", len(self.outstanding))
        if self.breaker.open:
            self.report.circuit_open = True
            log.warning("Circuit breaker open after %s connection failures: %s messages "
                        "released", self.breaker.consecutive, self.report.released)
        if self.requested.is_set():
            self.report.stopped = True

    def raise_sender_error(self) -> None:
        try:
            error = self.errors.get_nowait()
        except queue.Empty:
            return
        raise error

    def _send(self, sender: Sender) -> None:
        # Taken before a message's content goes out, given back when its outcome is
        # committed: at most `unrecorded_max` messages of this connection are delivered but
        # not yet recorded. The envelope of the next message (MAIL, RCPT, DATA: three of the
        # four round trips) goes on meanwhile.
        ahead = threading.Semaphore(self.settings.unrecorded_max)

        def before_body() -> None:
            while not ahead.acquire(timeout=0.2):
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
                except Exception as error:
                    # A bug on one message must not stop every drain: that row is retried
                    # later with its attempt spent, the others go on.
                    log.exception("Sending message %s failed", row.id)
                    result = Result(row, Outcome.TEMPORARY, None, f"Worker error: {error!r}")
                self.done.put((result, ahead if taken else None))
        except BaseException as error:  # the thread's own machinery: the run must stop
            self.errors.put(error)
        finally:
            try:
                sender.close()
            finally:
                self.done.put(None)  # this sender is finished

    def _next_row(self) -> Claimed | None:
        try:
            return self.work.get(timeout=0.05)[2]
        except queue.Empty:
            return None

    def _record_some(self) -> None:
        self.raise_sender_error()
        try:
            items = [self.done.get(timeout=0.2)]
        except queue.Empty:
            if not any(t.is_alive() for t in self.threads):
                self.running = 0
            return
        # Wait briefly for more outcomes while some sender can still run ahead: one commit
        # for several outcomes costs about what one commit for one outcome costs.
        full = self.running * self.settings.unrecorded_max
        linger_until = time.monotonic() + RECORD_LINGER_SECONDS
        while len(items) < full:
            try:
                items.append(self.done.get(timeout=max(0.0, linger_until - time.monotonic())))
            except queue.Empty:
                break
        group = [item for item in items if item is not None]
        self.running -= len(items) - len(group)
        self.unrecorded.extend(group)  # until committed: wind_down records them if this fails
        outbox_queue.record_results([result for result, _ in group], self.worker)
        self.unrecorded = []
        for result, ahead in group:
            if ahead:
                ahead.release()
            self.outstanding.pop(result.row.id, None)
            _count(self.report, result)
        if time.monotonic() > self.lease_check:
            outbox_queue.extend_leases(list(self.outstanding.values()))
            self.lease_check = time.monotonic() + self.settings.lease_seconds / 3


def _rollback() -> None:
    try:
        db.session.rollback()
    except Exception:  # the connection is gone: the next use takes a new one
        log.debug("Rollback failed", exc_info=True)


def _count(report: DrainReport, result: Result) -> None:
    if result.outcome in (Outcome.SENT, Outcome.SUPPRESSED):
        report.sent += 1
    elif result.outcome is Outcome.CONFIGURATION:
        report.paused += 1
    elif result.outcome is Outcome.TEMPORARY and result.row.attempts + 1 < result.row.max_attempts:
        report.retried += 1
    else:
        report.failed += 1


def drain(worker: str = "drain", overrides: dict | None = None,
          stop: threading.Event | None = None) -> DrainReport:
    """Send every row due when the run starts, batch after batch, and urgent rows that
    become due meanwhile; call in an app context.

    Stops early when the circuit breaker opens, when MAIL_MAX_PER_MINUTE is used up (counted
    from the attempts table over the last minute, so the limit holds across runs) or when
    `stop` is set. Raises what made the run fail, once the run has wound down."""
    settings = Settings.from_config(current_app.config, overrides)
    report = DrainReport()
    pause = paused_until(worker)
    probing = pause is not None
    if pause is not None and clock.now() < pause:
        report.paused_until = pause.isoformat(timespec="seconds")
        return report  # the relay was unreachable: claim nothing until the pause ends
    run = _Run(settings, worker, report, stop)
    failure: Exception | None = None
    try:
        # What an earlier run could not give back (the database was gone) is due again now,
        # not when its lease expires.
        outbox_queue.release_abandoned(worker)
        started = clock.now()
        if settings.max_per_minute:
            window_start = started - timedelta(minutes=1)
            run.budget = settings.max_per_minute - outbox_queue.attempts_since(window_start)
        # After a pause, a few rows first (as many as open the breaker): if the relay is still
        # down, that is all this poll spends.
        probe = settings.breaker_failures if probing else None
        while not run.halted and run.claim(started, limit=probe):
            run.feed()
            if probe is not None and not run.breaker.open:
                run.finish_probe()
                probe = None
        run.finish()
        run.raise_sender_error()
    except Exception as error:
        failure = error
        report.error = f"{type(error).__name__}: {error}"[:2000]
    finally:
        run.wind_down(failed=failure is not None)
    if run.breaker.open:
        report.paused_until = open_circuit(worker, settings).isoformat(timespec="seconds")
    elif report.sent or report.retried or report.failed:
        close_circuit(worker)  # the relay answered
    if failure is not None:
        log.error("Drain by %s failed: %s; %s messages released, %s recorded", worker,
                  report.error, report.released, report.sent + report.retried + report.failed,
                  exc_info=failure)
        raise failure
    if report.claimed:
        log.info("Drain by %s: %s", worker, report.as_dict())
    return report
