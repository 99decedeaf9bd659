"""Figure 3: a candidate's submission until the SMTP server has the acknowledgement.

The submissions go through the Flask test client; a real worker (`flask --app wsgi worker`, a
subprocess at the default poll interval) sends. A submission every 0–400 ms (random), without
waiting for the previous one's email, so the worker's tick falls anywhere in between.
"""

import random
import smtplib
import statistics
import subprocess
import sys
import time
from datetime import timedelta

import sqlalchemy as sa

from bench import baselines
from bench.common import ROOT, make_app, signed_in, throwaway_database, worker_env
from bench.harness import Figure

SUBMISSIONS = 50


def _percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def _setup(app, n: int):
    """A campaign with its default acknowledgement trigger, and `n` candidates each with a
    draft: returns (application id, email) pairs, the user ids and the poll interval."""
    from tests import factories
    from webapp.core import clock
    from webapp.extensions import db
    from webapp.models import Role
    from webapp.services import applications, campaigns

    with app.app_context():
        now = clock.now()
        campaign = campaigns.create_campaign(None, "Bench latency", now - timedelta(days=1),
                                             now + timedelta(days=30), published=True)
        drafts, user_ids = [], []
        for i in range(n):
            user = factories.make_user(Role.CANDIDATE, email=f"late{i}@example.org",
                                       first_name="Élodie", last_name=f"Müller {i}")
            db.session.commit()
            drafts.append((applications.start_application(user, campaign.id).id, user.email))
            user_ids.append(user.id)
        db.session.commit()
        return drafts, user_ids, app.config["OUTBOX_POLL_SECONDS"]



def _worker_drained(app) -> bool:
    from webapp.extensions import db
    from webapp.models.outbox import WorkerHeartbeat

    with app.app_context():
        seen = db.session.scalar(sa.select(sa.func.max(WorkerHeartbeat.last_drain_at)))
        db.session.remove()
        return seen is not None


def _send_in_request(port: int) -> float:
    """What the reference product does instead: open a connection and send in the request."""
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.sendmail(baselines.SENDER, ["in-request@example.org"], baselines.build(0))
    return time.perf_counter() - start


def run(server, folder, rounds: int, submissions: int = SUBMISSIONS) -> list[Figure]:
    latencies, baseline = [], []
    poll = None
    for _round in range(rounds):
        with throwaway_database("sqlite", folder) as url:
            app = make_app(url, server.port)
            drafts, user_ids, poll = _setup(app, submissions)
            clients = [signed_in(app, user_id) for user_id in user_ids]
            server.reset()
            worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
                                      cwd=ROOT, env=worker_env(url, server.port),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                # A guard against a worker that never starts, not a figure: a busy machine
                # can take tens of seconds to start a Python process.
                deadline = time.monotonic() + 180
                while not _worker_drained(app):
                    if time.monotonic() > deadline:
                        raise AssertionError("the worker did not start")
                    time.sleep(0.05)
                started = {}
                for (application_id, address), client in zip(drafts, clients, strict=True):
                    time.sleep(random.uniform(0, 0.4))
                    started[address] = time.time()
                    client.post(f"/my/applications/{application_id}", data={
                        "title": "Projet", "summary": "Résumé", "motivation": "Motivation",
                        "confirmed": "y", "action": "submit"})  # asks for confirmation
                    request_start = time.perf_counter()
                    response = client.post(f"/my/applications/{application_id}/submit")
                    request_seconds = time.perf_counter() - request_start
                    if response.status_code != 303:
                        raise AssertionError(f"submission answered {response.status_code}")
                    baseline.append(request_seconds + _send_in_request(server.port))
                deadline = time.monotonic() + poll + 30
                while not set(started) <= set(arrivals := server.arrivals()):
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
                server.expect(2 * submissions, "latency: acknowledgements + in-request sends")
                latencies += [arrivals[address] - started[address] for address in started]
            finally:
                worker.terminate()
                worker.wait(30)
            with app.app_context():
                from webapp.extensions import db

                db.engine.dispose()
    target = f"p95 ≤ {poll + 1:g} s (poll {poll:g} s + 1 s)"
    note = [f"{submissions} submissions × {rounds} rounds; worker: `flask --app wsgi worker` "
            "subprocess; baseline: the request plus an SMTP send inside it"]
    # One figure per percentile; the harness's median/min–max are of the single value.
    return [
        Figure("latency submit → SMTP, p50", "s", [statistics.median(latencies)],
               "send inside the request, p50", [statistics.median(baseline)],
               higher_is_better=False, notes=note),
        Figure("latency submit → SMTP, p95", "s", [_percentile(latencies, 95)],
               "send inside the request, p95", [_percentile(baseline, 95)], target=target,
               higher_is_better=False, notes=note + [f"max {max(latencies):.2f} s"]),
    ]
