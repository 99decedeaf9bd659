"""Figure 1: drain throughput (msgs/s) against plain smtplib over one connection."""

import time

import sqlalchemy as sa

from bench import baselines
from bench.common import make_app, throwaway_database
from bench.harness import Figure

SETTINGS = {
    "defaults": {},
    "one connection": {"OUTBOX_SMTP_CONNECTIONS": 1},
}


def queue_rows(n: int, tag: str, first: int = 0, **fields) -> None:
    """`n` pending rows carrying the baselines' message (same subject, bodies, recipients)."""
    from webapp import outbox
    from webapp.extensions import db
    from webapp.models.outbox import OutboxMessage

    rows = [outbox.message_values(key=f"bench:{tag}:{i}", to_addr=baselines.recipient(i),
                                  to_name="Élodie Müller", subject=baselines.SUBJECT,
                                  body_html=baselines.HTML, body_text=baselines.TEXT, **fields)
            for i in range(first, first + n)]
    for start in range(0, n, 1000):
        db.session.execute(sa.insert(OutboxMessage.__table__), rows[start:start + 1000])
    db.session.commit()


def empty_outbox() -> None:
    from webapp.extensions import db
    from webapp.models.outbox import OutboxAttempt, OutboxMessage

    db.session.execute(sa.delete(OutboxAttempt.__table__))
    db.session.execute(sa.delete(OutboxMessage.__table__))
    db.session.commit()


def drain_rate(app, server, n: int, tag: str, overrides: dict) -> float:
    from jobs.drain import drain_once

    with app.app_context():
        empty_outbox()
        queue_rows(n, tag)
    server.reset()
    start = time.perf_counter()
    report = drain_once(app, **overrides)
    seconds = time.perf_counter() - start
    if report["sent"] != n:
        raise AssertionError(f"drain {tag}: {report}")
    server.expect(n, f"drain {tag}")
    return n / seconds


def run(server, folder, backends: list[str], rounds: int, n: int) -> list[Figure]:
    prebuilt, building = [], []
    drains: dict[tuple[str, str], list[float]] = {}
    with _databases(backends, folder) as urls:
        apps = {backend: make_app(url, server.port) for backend, url in urls.items()}
        for r in range(rounds):
            messages = [baselines.build(i) for i in range(n)]
            server.reset()
            start = time.perf_counter()
            baselines.send_prebuilt(server.port, messages)
            prebuilt.append(n / (time.perf_counter() - start))
            server.expect(n, "smtplib prebuilt")
            server.reset()
            start = time.perf_counter()
            baselines.send_building(server.port, n)
            building.append(n / (time.perf_counter() - start))
            server.expect(n, "smtplib building")
            for backend, app in apps.items():
                for label, overrides in SETTINGS.items():
                    rate = drain_rate(app, server, n, f"{backend}-{label}-{r}", overrides)
                    drains.setdefault((backend, label), []).append(rate)
        for app in apps.values():
            with app.app_context():
                from webapp.extensions import db

                db.engine.dispose()
    limit = "smtplib, prebuilt, 1 conn"
    figures = [Figure("smtplib building each message (EmailMessage)", "msgs/s", building,
                      limit, prebuilt, notes=[f"N = {n}"])]
    targets = {"defaults": "≥ 1.3× (SQLite)", "one connection": "≥ 0.85× (SQLite)"}
    for (backend, label), values in drains.items():
        name = f"drain {n:,}, {'SQLite' if backend == 'sqlite' else 'PostgreSQL'}, {label}"
        figures.append(Figure(name, "msgs/s", values, limit, prebuilt,
                              target=targets.get(label, "") if backend == "sqlite" else ""))
    return figures


class _databases:
    """Throwaway databases for several backends at once."""

    def __init__(self, backends, folder):
        self.contexts = {b: throwaway_database(b, folder) for b in backends}

    def __enter__(self) -> dict[str, str]:
        return {b: c.__enter__() for b, c in self.contexts.items()}

    def __exit__(self, *exc):
        for c in self.contexts.values():
            c.__exit__(*exc)
