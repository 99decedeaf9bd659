"""Figure 4: the Outbox page and a campaign's applications list at 1,000 and 1,000,000 rows.

SQLite only: a million users, applications and outbox rows are written with the sqlite3
module's executemany in one transaction (about a minute); the same through PostgreSQL would take
several (rows are generated, not rendered: bodies are a few hundred bytes).
Each page request goes through the Flask test client, signed in as an admin. The query plan of
every statement a request runs is checked: no full scan of a big table, no sort of its rows.
"""

import json
import sqlite3
import statistics
import time
from datetime import timedelta

import sqlalchemy as sa

from bench.common import make_app, signed_in, throwaway_database
from bench.harness import Figure

BIG_TABLES = ("outbox_messages", "applications", "users", "outbox_attempts", "status_changes")
HEADERS = json.dumps({"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"})
BODY = ("<p>Bonjour Élodie Müller,</p>\n<p>Votre candidature MIS-ABCDEFGH à la campagne « Bourses "
        "de recherche 2027 » a bien été reçue.</p>\n<p>L'équipe Missive</p>\n")


def _stamp(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def populate(url: str, app, n: int) -> tuple[int, int]:
    """An admin, a campaign, and `n` candidates each with an application and an email."""
    from tests import factories
    from webapp.core import clock
    from webapp.extensions import db
    from webapp.models import Role
    from webapp.services.statuses import by_code

    with app.app_context():
        admin = factories.make_user(Role.ADMIN, email="admin@example.org")
        campaign = factories.make_campaign("Bench scaling")
        db.session.commit()
        admin_id, campaign_id = admin.id, campaign.id
        status_ids = [by_code(code).id for code in ("submitted", "under_review", "accepted",
                                                    "rejected")]
        now = clock.now()
        db.engine.dispose()
    start = now - timedelta(days=60)
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    connection.execute("PRAGMA synchronous=OFF")
    first_user = connection.execute("SELECT max(id) FROM users").fetchone()[0] + 1
    with connection:
        connection.executemany(
            "INSERT INTO users (id, email, first_name, last_name, password_hash, locale, active,"
            " created_at, updated_at) VALUES (?, ?, 'Élodie', ?, 'x', 'fr', 1, ?, ?)",
            ((first_user + i, f"c{i}@example.org", f"Müller {i}", _stamp(start),
              _stamp(start)) for i in range(n)))
        connection.executemany("INSERT INTO user_roles (user_id, role) VALUES (?, 'candidate')",
                               ((first_user + i,) for i in range(n)))
        connection.executemany(
            "INSERT INTO applications (id, campaign_id, candidate_id, status_id, reference, title,"
            " summary, motivation, confirmed, submitted_at, status_changed_at, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, 'Projet', 'Résumé', 'Motivation', 1, ?, ?, ?, ?)",
            ((i + 1, campaign_id, first_user + i, status_ids[i % 4], f"MIS-S{i:09d}",
              _stamp(start + timedelta(seconds=i)), _stamp(start + timedelta(seconds=i)),
              _stamp(start), _stamp(start))
             for i in range(n)))
        connection.executemany(
            "INSERT INTO outbox_messages (id, dedupe_key, message_id, state, sender, to_addr,"
            " to_name, cc, bcc, reply_to, subject, body_html, body_text, headers, locale,"
            " is_test, event_type, event_id, campaign_id, application_id, attempts,"
            " max_attempts, next_attempt_at, last_error, cancel_reason, sent_at, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, '', ?, ?, '', '', '', ?, ?, ?, ?, 'fr', 0,"
            " 'submitted', ?, ?, ?, ?, 6, ?, '', '', ?, ?, ?)",
            _outbox_rows(n, campaign_id, start))
    connection.close()
    return admin_id, campaign_id


def _outbox_rows(n: int, campaign_id: int, start):
    for i in range(n):
        # Mostly sent, as an outbox is after a while; the newest are still pending.
        state = ("pending" if i >= n - n // 200 else "failed" if i % 100 == 7
                 else "cancelled" if i % 100 == 9 else "sent")
        created = _stamp(start + timedelta(seconds=i))
        yield (i + 1, f"0:submitted:{i}:c{i}@example.org", f"<{i:032x}@missive.example.org>",
               state, f"c{i}@example.org", f"Élodie Müller {i}",
               f"Accusé de réception : MIS-S{i:09d}", BODY, BODY, HEADERS, i + 1, campaign_id,
               i + 1, int(state != "pending"), created,
               created if state == "sent" else None, created, created)



def _statements(app, client, path: str) -> list[tuple[str, object]]:
    """The SQL one request runs."""
    from webapp.extensions import db

    seen = []

    def note(_conn, _cursor, statement, parameters, _context, _many):
        seen.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        client.get(path)
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    return seen


def plan_problems(app, client, path: str) -> tuple[list[str], list[str]]:
    """Every statement's plan, and the steps that read a big table whole or sort its rows."""
    from webapp.extensions import db

    plans, problems = [], []
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            for statement, parameters in _statements(app, client, path):
                if not statement.lstrip().upper().startswith("SELECT"):
                    continue
                details = [row[-1] for row in raw.execute(f"EXPLAIN QUERY PLAN {statement}",
                                                          parameters).fetchall()]
                plans += details
                sql = " ".join(statement.split())
                touches_big = any(f" {t}" in f" {d}" for t in BIG_TABLES for d in details)
                for detail in details:
                    # SCAN without an index reads rows in primary-key order: with a LIMIT and
                    # no sort (newest first by id) it stops after one page.
                    full_scan = (detail.startswith("SCAN") and "INDEX" not in detail
                                 and " LIMIT " not in sql)
                    if touches_big and (full_scan or "TEMP B-TREE" in detail):
                        problems.append(f"{detail}  ←  {sql[:160]}")
        finally:
            raw.close()
        db.engine.dispose()
    return plans, problems


def _time_requests(client, path: str, requests: int) -> list[float]:
    for _ in range(2):  # warm up: caches of the app, SQLite's pages
        assert client.get(path).status_code == 200
    values = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(path)
        values.append(time.perf_counter() - start)
        assert response.status_code == 200, (path, response.status_code)
    return values


def run(server, folder, requests: int, sizes=(1_000, 1_000_000)) -> tuple[list[Figure], dict]:
    timings: dict[tuple[str, int], list[float]] = {}
    plans = {}
    for size in sizes:
        with throwaway_database("sqlite", folder) as url:
            app = make_app(url, server.port)
            generated = time.perf_counter()
            admin_id, campaign_id = populate(url, app, size)
            generated = time.perf_counter() - generated
            client = signed_in(app, admin_id)
            pages = {"Outbox page /outbox/": "/outbox/",
                     "applications list": f"/applications/campaigns/{campaign_id}"}
            for label, path in pages.items():
                timings[(label, size)] = [t * 1000 for t in _time_requests(client, path,
                                                                             requests)]
                all_plans, problems = plan_problems(app, client, path)
                plans[f"{label} @ {size:,}"] = {"plan": all_plans, "problems": problems,
                                                "generated_seconds": round(generated, 1)}
            with app.app_context():
                from webapp import outbox
                from webapp.outbox import admin as outbox_admin

                uncached = []
                for _ in range(5):
                    outbox_admin.forget_counts()
                    start = time.perf_counter()
                    outbox.counters()
                    uncached.append((time.perf_counter() - start) * 1000)
                timings[("counters", size)] = uncached
            (folder / url.rsplit("/", 1)[1]).unlink(missing_ok=True)
    small, large = sizes
    figures = []
    for label in ("Outbox page /outbox/", "applications list"):
        problems = plans[f"{label} @ {large:,}"]["problems"]
        notes = [f"{requests} requests per size, SQLite, test client as admin",
                 "query plans: " + ("indexes only" if not problems else "; ".join(problems))]
        figures.append(Figure(f"{label}, {large:,} rows", "ms/request", timings[(label, large)],
                              f"same page at {small:,} rows", timings[(label, small)],
                              target="≤ 2×", higher_is_better=False, notes=notes))
    figures.append(Figure(
        f"Outbox counters uncached, {large:,} rows", "ms", timings[("counters", large)],
        f"at {small:,} rows", timings[("counters", small)], higher_is_better=False,
        notes=["GROUP BY state over the state index; above OUTBOX_COUNTERS_EXACT_BELOW rows "
               "the page keeps the counts OUTBOX_COUNTERS_CACHE_SECONDS"]))
    return figures, plans


def medians(values: list[float]) -> float:
    return statistics.median(values)
