"""Figures 1b and 1c: the drain against a relay a round trip away, and urgent mail behind a
bulk backlog.

The bench server answers each command 5 ms or 20 ms late (aiosmtpd's reply delayed, see
tests/smtp_server.py) and offers PIPELINING, as Postfix does. The baseline is plain smtplib
over one connection against the same server at the same delay, in the same run."""

import statistics
import threading
import time

from bench import baselines
from bench.common import make_app, throwaway_database
from bench.drain import drain_rate, empty_outbox, queue_rows
from bench.harness import Figure

DELAYS = (0.005, 0.020)


def _baseline(server, n: int) -> float:
    messages = [baselines.build(i) for i in range(n)]
    server.reset()
    start = time.perf_counter()
    baselines.send_prebuilt(server.port, messages)
    rate = n / (time.perf_counter() - start)
    server.expect(n, "smtplib prebuilt, delayed")
    return rate


def run(server, folder, rounds: int, quick: bool) -> list[Figure]:
    figures = []
    with throwaway_database("sqlite", folder) as url:
        app = make_app(url, server.port)
        try:
            for delay in DELAYS:
                server.relay(delay, pipelining=True)
                base, drains = [], []
                # Enough messages for the drain to reach its connections (about 5 s each);
                # a quick run only checks that the figure runs.
                n = (2000 if delay < 0.01 else 800) // (20 if quick else 1)
                for r in range(rounds):
                    base.append(_baseline(server, (60 if delay < 0.01 else 25) // (
                        5 if quick else 1)))
                    drains.append(drain_rate(app, server, n, f"relay-{delay}-{r}", {}))
                figures.append(Figure(
                    f"drain {n:,}, SQLite, relay {delay * 1000:.0f} ms away", "msgs/s", drains,
                    f"smtplib, prebuilt, 1 conn, {delay * 1000:.0f} ms", base, target="≥ 8×",
                    notes=["the server offers PIPELINING; smtplib does not use it"]))
            server.relay(0, pipelining=False)
            figures.append(_head_of_line(app, server, n=1_000 if quick else 20_000,
                                         urgent=10 if quick else 50))
        finally:
            server.relay(0, pipelining=False)
            with app.app_context():
                from webapp.extensions import db

                db.engine.dispose()
    return figures


def _head_of_line(app, server, n: int, urgent: int = 50) -> Figure:
    """p95 from enqueue to the SMTP server of `urgent` messages queued, one every 50 ms,
    while the drain works through `n` bulk rows; the baseline is how long the bulk backlog
    takes, what they would wait in a first-in, first-out queue. Urgent rows queued after the
    drain has finished (a backlog too small for the machine) are sent by a second run."""
    from jobs.drain import drain_once
    from webapp.models import OutboxPriority

    with app.app_context():
        empty_outbox()
        queue_rows(n, "backlog", priority=OutboxPriority.BULK)
    server.reset()
    report = {}
    start = time.time()
    drainer = threading.Thread(target=lambda: report.update(drain_once(app, "bench")))
    drainer.start()
    queued = {}
    time.sleep(0.5)  # the drain is under way
    with app.app_context():
        for i in range(urgent):
            queue_rows(1, f"urgent-{i}", priority=OutboxPriority.URGENT, first=n + i)
            queued[baselines.recipient(n + i)] = time.time()
            time.sleep(0.05)
    drainer.join()
    backlog_seconds = time.time() - start
    arrivals = server.arrivals()
    late = 0
    if not set(queued) <= set(arrivals):
        late = len(set(queued) - set(arrivals))
        drain_once(app, "bench")
        arrivals = server.arrivals()
    waits = sorted(arrivals[address] - at for address, at in queued.items())
    p95 = waits[int(len(waits) * 0.95) - 1]
    notes = [f"max {max(waits):.2f} s, median {statistics.median(waits):.2f} s; "
             f"drain report {report}"]
    if late:
        notes.append(f"{late} urgent rows were queued after the backlog was sent: not measured "
                     "behind it")
    return Figure(f"urgent mail behind {n:,} bulk rows, p95 (SQLite)", "s", [p95],
                  "FIFO: the backlog's own drain time", [backlog_seconds],
                  target="≤ poll + 1 s", higher_is_better=False, notes=notes)
