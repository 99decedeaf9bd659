"""Figure: the outbox purge deleting 10,000 old rows out of 100,000, beside 1,000 out of
10,000, as time per purged row.

A tenth of every outbox is sent mail past the retention; a tenth of the rest are resends of
those old rows (their `resent_from_id` is unlinked by the purge and by ON DELETE SET NULL).
Without an index on `resent_from_id` each purged row scans the table: the purge grows with
rows purged × table size. With it, the time per purged row stays flat whatever the table.
Each round fills a fresh outbox, then times `outbox.purge()` alone.

    .venv/bin/python -m bench.purge [--quick]
"""

import time
from datetime import timedelta

import sqlalchemy as sa

from bench.common import make_app, postgres_url, throwaway_database
from bench.harness import Figure

SHARE = 10  # one row in SHARE is old enough to go
CHUNK = 5_000


def populate(app, total: int) -> int:
    """`total` outbox rows, total / SHARE of them purgeable; returns how many."""
    from webapp import outbox
    from webapp.core import clock
    from webapp.extensions import db
    from webapp.models.outbox import OutboxMessage

    table = OutboxMessage.__table__
    with app.app_context():
        now = clock.now()
        old = now - timedelta(days=app.config["OUTBOX_RETENTION_DAYS"] + 10)
        base = outbox.message_values(key="bench", to_addr="c@example.org",
                                     subject="Décision", body_html="<p>Bonjour</p>",
                                     body_text="Bonjour")
        purged = total // SHARE
        first = (db.session.scalar(sa.select(sa.func.max(table.c.id))) or 0) + 1
        for start in range(0, total, CHUNK):
            rows = []
            for i in range(start, min(total, start + CHUNK)):
                row = dict(base, id=first + i, dedupe_key=f"bench:{first + i}",
                           message_id=f"<bench-{first + i}@missive.example.org>",
                           to_addr=f"c{i}@example.org", resent_from_id=None, sent_at=None)
                if i < purged:
                    row.update(state="sent", sent_at=old, updated_at=old, created_at=old)
                else:
                    row.update(state="sent" if i % 2 else "pending",
                               sent_at=now if i % 2 else None)
                    if i % SHARE == 1:  # a resend of an old row
                        row["resent_from_id"] = first + (i * 7919) % purged
                rows.append(row)
            db.session.execute(table.insert(), rows)
            db.session.commit()
        db.session.remove()
    return purged


def _one_round(app, total: int) -> float:
    """Seconds per purged row."""
    from webapp import outbox
    from webapp.extensions import db
    from webapp.models.outbox import OutboxAttempt, OutboxMessage

    with app.app_context():
        db.session.execute(sa.delete(OutboxAttempt))
        db.session.execute(sa.update(OutboxMessage).values(resent_from_id=None))
        db.session.execute(sa.delete(OutboxMessage))
        db.session.commit()
    expected = populate(app, total)
    with app.app_context():
        start = time.perf_counter()
        purged = outbox.purge()
        elapsed = time.perf_counter() - start
        if purged != expected:
            raise AssertionError(f"purge: {purged} rows, expected {expected}")
        db.session.remove()
    return elapsed / purged


def run(server, folder, backends, rounds: int, sizes=(10_000, 100_000)) -> list[Figure]:
    figures = []
    for backend in backends:
        timings = {}
        for size in sizes:
            with throwaway_database(backend, folder) as url:
                app = make_app(url, server.port)
                timings[size] = [_one_round(app, size) * 1e6 for _ in range(rounds)]
                with app.app_context():
                    from webapp.extensions import db

                    db.engine.dispose()
        small, large = sizes
        figures.append(Figure(
            f"purge, {large // SHARE:,} of {large:,} rows, "
            f"{'PostgreSQL' if backend == 'postgresql' else 'SQLite'}", "µs/purged row",
            timings[large], f"{small // SHARE:,} of {small:,} rows", timings[small],
            target="≤ 2×", higher_is_better=False,
            notes=["outbox.purge() alone, batches of OUTBOX_PURGE_BATCH_SIZE; a tenth of the "
                   "rows kept are resends of purged ones (ix_outbox_messages_resent_from)"]))
    return figures


if __name__ == "__main__":
    import argparse
    import tempfile
    from pathlib import Path

    from bench.common import CountingServer
    from bench.harness import table

    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    with CountingServer() as smtp:
        found = run(smtp, Path(tempfile.mkdtemp(prefix="missive-bench-")),
                    ["sqlite"] + (["postgresql"] if postgres_url() else []),
                    rounds=1 if args.quick else 3)
    print(table(found))
    for figure in found:
        print(f"  {figure.name}: {figure.median:.1f} µs/row; {figure.baseline_name}: "
              f"{figure.baseline:.1f} µs/row; per-row ratio {figure.ratio:.2f}")
