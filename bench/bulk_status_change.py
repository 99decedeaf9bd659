"""Time a bulk status change of 1,000 and 10,000 applications, against a bare Core insert of
the same number of outbox rows. Not a test: timings belong here, never in the test suite.

    .venv/bin/python -m bench.bulk_status_change [--postgres] [--sizes 1000,10000]

`make bench` runs it as figure 2; alone, it uses a fresh SQLite file (and with --postgres a
throwaway database on BENCH_POSTGRES_URL or TEST_POSTGRES_URL).
"""

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from bench.common import CountingServer, make_app, postgres_url, throwaway_database
from bench.harness import Figure, table
from webapp import outbox
from webapp.core import clock
from webapp.extensions import db
from webapp.models import (
    Application,
    Campaign,
    CampaignMember,
    EmailTemplate,
    EmailTemplateVersion,
    EventType,
    MemberRole,
    Role,
    Trigger,
    User,
    UserRole,
)
from webapp.models.outbox import OutboxMessage
from webapp.services import applications
from webapp.services.applications import Selection
from webapp.services.statuses import by_code

BODY = ("<p>Hello {{ recipient_name }},</p><p>Your application {{ application_reference }} to "
        "{{ campaign_label }} is now <strong>{{ status_label }}</strong>.</p>"
        '<p><a href="{{ application_url }}">{{ application_url }}</a></p>')


def populate(size: int, run: int = 0) -> tuple[int, int]:
    """A campaign with `size` submitted applications and a decision trigger; returns the
    campaign id and the manager id."""
    now = clock.now()
    manager = User(email=f"manager-{size}-{run}@example.org", first_name="Morgan", last_name="Boss",
                   password_hash="x", locale="en")
    manager.role_rows = [UserRole(role=Role.MANAGER.value)]
    campaign = Campaign(label=f"Bench {size}/{run}", opens_at=now - timedelta(days=1),
                        closes_at=now + timedelta(days=30))
    campaign.members = [CampaignMember(user=manager, role=MemberRole.MANAGER)]
    template = EmailTemplate(name=f"Decision {size}/{run}", default_locale="fr")
    template.versions = [
        EmailTemplateVersion(locale=loc, subject="{{ application_reference }}: "
                             "{{ status_label }}", body_html=BODY) for loc in ("fr", "en")]
    db.session.add_all([manager, campaign, template])
    db.session.flush()
    db.session.add(Trigger(campaign=campaign, template=template, event=EventType.STATUS_CHANGED,
                           to_status=by_code("accepted"), to_candidate=True))
    submitted = by_code("submitted").id
    user_table, app_table = User.__table__, Application.__table__
    first_id = (db.session.scalar(sa.select(sa.func.max(User.id))) or 0) + 1
    db.session.execute(user_table.insert(), [
        {"email": f"c{size}-{run}-{n}@example.org", "first_name": "Cand", "last_name": f"N{n}",
         "password_hash": "x", "locale": "fr" if n % 2 else "en", "active": True,
         "created_at": now, "updated_at": now} for n in range(size)])
    ids = db.session.scalars(sa.select(User.id).where(User.id >= first_id,
                                                      User.email.like(f"c{size}-{run}-%"))).all()
    db.session.execute(UserRole.__table__.insert(),
                       [{"user_id": i, "role": Role.CANDIDATE.value} for i in ids])
    db.session.execute(app_table.insert(), [
        {"campaign_id": campaign.id, "candidate_id": uid, "status_id": submitted,
         "reference": f"MIS-B{size}-{run}-{uid}", "title": "Project", "summary": "",
         "motivation": "", "confirmed": True, "submitted_at": now, "created_at": now,
         "updated_at": now}
        for uid in ids])
    db.session.commit()
    return campaign.id, manager.id


def bare_insert_seconds(size: int, run: int = 0) -> float:
    """The reference: `size` pre-rendered outbox rows inserted with one executemany."""
    rows = [outbox.message_values(key=f"bare:{size}:{run}:{n}", to_addr=f"x{n}@example.org",
                                  subject="Subject", body_html=BODY, body_text="text")
            for n in range(size)]
    start = time.perf_counter()
    for chunk in range(0, size, 500):
        db.session.execute(OutboxMessage.__table__.insert(), rows[chunk:chunk + 500])
    db.session.commit()
    return time.perf_counter() - start


def run(server, folder, backends: list[str], rounds: int, sizes=(1000, 10000)) -> list[Figure]:
    """Figure 2: a bulk status change through the service the view calls, in rows/s for the
    whole transaction, against a bare Core insert of as many outbox rows."""
    figures = []
    for backend in backends:
        with throwaway_database(backend, folder) as url:
            app = make_app(url, server.port)
            with app.app_context():
                accepted = by_code("accepted").id
                for size in sizes:
                    changes, bares = [], []
                    for run_number in range(rounds):
                        campaign_id, manager_id = populate(size, run_number)
                        manager = db.session.get(User, manager_id)
                        selection = Selection(campaign_id, all_matching=True)
                        start = time.perf_counter()
                        result = applications.bulk_change_status(manager, selection, accepted)
                        changes.append(size / (time.perf_counter() - start))
                        if not result.moved == result.queued == size:
                            raise AssertionError(f"bulk change of {size}: {result}")
                        bares.append(size / bare_insert_seconds(size, run_number))
                    name = "SQLite" if backend == "sqlite" else "PostgreSQL"
                    figures.append(Figure(
                        f"bulk status change {size:,}, {name}", "rows/s", changes,
                        "bare Core insert of outbox rows", bares, target="≥ 0.2×"))
                db.engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="also on BENCH_POSTGRES_URL")
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    backends = ["sqlite"] + (["postgresql"] if args.postgres and postgres_url() else [])
    with CountingServer() as server:
        figures = run(server, Path(tempfile.mkdtemp(prefix="missive-bench-")), backends,
                      args.rounds, [int(s) for s in args.sizes.split(",")])
    print(table(figures))


if __name__ == "__main__":
    main()
