"""Figures: the reminders cron job over 100,000 applications of which 1,000 are due, beside the
same job over 1,000 applications (all 1,000 due); and a campaign's Emails tab with three
reminders over 50,000 drafts, beside the same tab over 100 drafts.

A reminder "7 days after entering Submitted" that last ran an hour ago: the due applications
entered the status in that hour, seven days back. In the large campaign the others entered it
earlier (already reminded) or are in other statuses; the job must find the 1,000 through the
(campaign, status, entered at) index, not by reading the 100,000. Each round renders and
inserts the 1,000 outbox rows in one transaction, then the rows are removed for the next round.

The Emails tab shows, for each reminder, its next run and what it would send if it ran now:
counted by the database (one statement per reminder), never by planning every draft. A
platform manager's request through the test client, ms/request; with --quick, 10,000 drafts.

    .venv/bin/python -m bench.reminders [--quick]
"""

import time
from datetime import timedelta

import sqlalchemy as sa

from bench.common import make_app, postgres_url, throwaway_database
from bench.harness import Figure

DUE = 1_000
CHUNK = 5_000


def populate(app, n: int, due: int = DUE):
    """A campaign with `n` applications, `due` of them due for the reminder at the returned
    moment."""
    from tests import factories
    from webapp.core import clock
    from webapp.extensions import db
    from webapp.models import Application, Reminder, User, UserRole
    from webapp.services.statuses import by_code

    with app.app_context():
        now = clock.now()
        campaign = factories.make_campaign("Bench reminders", closes_in_days=60)
        template = factories.make_template(
            name="Nudge", subject="{{ campaign_label }}: {{ application_reference }}",
            body_html="<p>Bonjour {{ recipient_name }}, votre dossier attend depuis une "
                      "semaine.</p>")
        db.session.add(Reminder(campaign=campaign, kind="in_status", template=template,
                                status_id=by_code("submitted").id, offset_amount=7,
                                to_candidate=True, last_run_at=now - timedelta(hours=1)))
        db.session.commit()
        campaign_id = campaign.id
        submitted = by_code("submitted").id
        others = [by_code(c).id for c in ("under_review", "accepted", "rejected")]
        users, roles, apps = User.__table__, UserRole.__table__, Application.__table__
        first_user = (db.session.scalar(sa.select(sa.func.max(users.c.id))) or 0) + 1
        window_start = now - timedelta(days=7, hours=1)
        for start in range(0, n, CHUNK):
            batch = range(start, min(n, start + CHUNK))
            db.session.execute(users.insert(), [dict(
                id=first_user + i, email=f"c{i}@example.org", first_name="Élodie",
                last_name=f"Müller {i}", password_hash="x", locale="fr", active=True,
                created_at=now, updated_at=now) for i in batch])
            db.session.execute(roles.insert(), [dict(user_id=first_user + i, role="candidate")
                                                for i in batch])
            rows = []
            for i in batch:
                if i < due:  # entered Submitted within the hour, seven days ago: due now
                    status, since = submitted, window_start + timedelta(seconds=3 * i + 1)
                elif i % 2:  # entered it long ago: reminded already
                    status, since = submitted, now - timedelta(days=8 + i % 50)
                else:
                    status, since = others[i % 3], now - timedelta(days=i % 30)
                rows.append(dict(campaign_id=campaign_id, candidate_id=first_user + i,
                                 status_id=status, reference=f"MIS-R{i:09d}", title="Projet",
                                 summary="", motivation="", confirmed=True, submitted_at=since,
                                 status_changed_at=since, created_at=since, updated_at=since))
            db.session.execute(apps.insert(), rows)
            db.session.commit()
        db.engine.dispose()
    return now


def _one_round(app, now, due: int = DUE) -> float:
    from webapp.extensions import db
    from webapp.models import Reminder, ReminderDelivery
    from webapp.models.outbox import OutboxMessage
    from webapp.services import reminders

    with app.app_context():
        # Each round starts from nobody reminded: the outbox and the durable deliveries.
        db.session.execute(sa.delete(OutboxMessage))
        db.session.execute(sa.delete(ReminderDelivery))
        db.session.execute(sa.update(Reminder).values(
            last_run_at=now - timedelta(hours=1)))
        db.session.commit()
        start = time.perf_counter()
        reports = reminders.run(now)
        elapsed = time.perf_counter() - start
        queued = sum(r.queued for r in reports)
        if queued != due:
            raise AssertionError(f"reminders: queued {queued}, expected {due}")
        db.session.remove()
    return elapsed


TAB_SIZES = (100, 50_000)
TAB_REQUESTS = 10


def populate_drafts(app, n: int) -> tuple[int, int]:
    """A campaign with `n` drafts and three reminders (3 days and 2 hours before closing, and
    7 days in Submitted); returns (manager id, campaign id)."""
    from tests import factories
    from webapp.core import clock
    from webapp.extensions import db
    from webapp.models import Application, Reminder, Role, User, UserRole
    from webapp.services.statuses import by_code

    with app.app_context():
        now = clock.now()
        manager = factories.make_user(Role.MANAGER, email="manager@example.org")
        campaign = factories.make_campaign("Bench Emails tab", closes_in_days=30,
                                           managers=[manager])
        template = factories.make_template(name="Nudge")
        submitted = by_code("submitted").id
        db.session.add_all([
            Reminder(campaign=campaign, kind="before_closing", template=template,
                     offset_amount=3, to_candidate=True),
            Reminder(campaign=campaign, kind="before_closing", template=template,
                     offset_amount=2, offset_unit="hours", to_candidate=True,
                     to_managers=True),
            Reminder(campaign=campaign, kind="in_status", template=template,
                     status_id=submitted, offset_amount=7, to_candidate=True)])
        db.session.commit()
        manager_id, campaign_id = manager.id, campaign.id
        draft = by_code("draft").id
        users, roles, apps = User.__table__, UserRole.__table__, Application.__table__
        first_user = (db.session.scalar(sa.select(sa.func.max(users.c.id))) or 0) + 1
        for start in range(0, n, CHUNK):
            batch = range(start, min(n, start + CHUNK))
            db.session.execute(users.insert(), [dict(
                id=first_user + i, email=f"d{i}@example.org", first_name="Élodie",
                last_name=f"Müller {i}", password_hash="x", locale="fr", active=True,
                created_at=now, updated_at=now) for i in batch])
            db.session.execute(roles.insert(), [dict(user_id=first_user + i, role="candidate")
                                                for i in batch])
            db.session.execute(apps.insert(), [dict(
                campaign_id=campaign_id, candidate_id=first_user + i,
                status_id=submitted if i % 100 == 0 else draft, reference=f"MIS-T{i:09d}",
                title="Projet", summary="", motivation="", confirmed=False,
                status_changed_at=now - timedelta(days=i % 20), created_at=now,
                updated_at=now) for i in batch])
            db.session.commit()
        db.engine.dispose()
    return manager_id, campaign_id


def _time_tab(app, campaign_id: int, requests: int) -> list[float]:
    from tests.factories import PASSWORD

    client = app.test_client()  # signed in for real: the session lives on the server
    client.post("/auth/login", data={"email": "manager@example.org", "password": PASSWORD})
    path = f"/campaigns/{campaign_id}/emails"
    for _ in range(2):  # warm up
        warm = client.get(path)
        assert warm.status_code == 200, (warm.status_code, warm.headers.get("Location"))
    values = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(path)
        values.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    return values


def run_emails_tab(server, folder, backends, sizes=TAB_SIZES,
                   requests: int = TAB_REQUESTS) -> list[Figure]:
    small, large = sizes
    figures = []
    for backend in backends:
        timings = {}
        for size in (small, large):
            with throwaway_database(backend, folder) as url:
                app = make_app(url, server.port)
                _manager_id, campaign_id = populate_drafts(app, size)
                timings[size] = _time_tab(app, campaign_id, requests)
                with app.app_context():
                    from webapp.extensions import db

                    db.engine.dispose()
        figures.append(Figure(
            f"Emails tab, three reminders over {large:,} drafts, "
            f"{'PostgreSQL' if backend == 'postgresql' else 'SQLite'}", "ms/request",
            timings[large], f"{small:,} drafts", timings[small], target="≤ 2×",
            higher_is_better=False,
            notes=[f"{requests} requests per size, test client as a platform manager; each "
                   "reminder's count is one statement (services.reminders.count_if_ran_now)"]))
    return figures


def run(server, folder, backends, rounds: int, sizes=(1_000, 100_000),
        due: int = DUE) -> list[Figure]:
    figures = []
    for backend in backends:
        timings = {}
        for size in sizes:
            with throwaway_database(backend, folder) as url:
                app = make_app(url, server.port)
                now = populate(app, size, due)
                _one_round(app, now, due)  # warm-up: templates compiled, caches filled
                timings[size] = [_one_round(app, now, due) * 1000 for _ in range(rounds)]
                with app.app_context():
                    from webapp.extensions import db

                    db.engine.dispose()
        small, large = sizes
        figures.append(Figure(
            f"reminders cron job, {large:,} applications ({due:,} due), "
            f"{'PostgreSQL' if backend == 'postgresql' else 'SQLite'}", "ms/run",
            timings[large], f"{small:,} applications ({due:,} due)", timings[small],
            target="≤ 2×", higher_is_better=False,
            notes=[f"one run of services.reminders.run: plan, render and insert {due:,} rows in "
                   "one transaction; the due rows found through "
                   "ix_applications_campaign_status_since"]))
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
        folder = Path(tempfile.mkdtemp(prefix="missive-bench-"))
        backends = ["sqlite"] + (["postgresql"] if postgres_url() else [])
        found = run(smtp, folder, backends, rounds=1 if args.quick else 3)
        found += run_emails_tab(smtp, folder, backends,
                                sizes=(100, 10_000) if args.quick else TAB_SIZES)
    print(table(found))
