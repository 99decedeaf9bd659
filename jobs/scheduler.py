"""The worker's scheduler: drain, reaper, purge, reminders and heartbeat jobs (APScheduler 3)."""

import logging
import signal
import threading
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask

from jobs import accounts, documents, drain, reminders
from webapp import outbox

log = logging.getLogger("missive.worker")


def build_scheduler(app: Flask, worker: str,
                    scheduler_class: type[BaseScheduler] = BlockingScheduler,
                    stop: threading.Event | None = None) -> BaseScheduler:
    """A scheduler with the worker's jobs. The drain runs one at a time and schedules its next
    run OUTBOX_POLL_SECONDS after it ends, so a long drain is never due again while it runs
    (an interval job would log "maximum number of running instances reached" every poll).
    Setting `stop` ends a running drain early and schedules no other."""
    config = app.config
    stop = stop or threading.Event()
    scheduler = scheduler_class(timezone="UTC", job_defaults={"coalesce": True,
                                                              "max_instances": 1})
    poll = timedelta(seconds=config["OUTBOX_POLL_SECONDS"])

    def drain_then_schedule_the_next() -> None:
        try:
            drain.drain_once(app, worker, stop=stop)
        except Exception:  # logged with its traceback by the drain, noted in the heartbeat
            pass
        finally:
            if not stop.is_set():
                scheduler.add_job(drain_then_schedule_the_next, "date", id="drain",
                                  run_date=_now_aware() + poll, replace_existing=True,
                                  max_instances=1)

    scheduler.add_job(drain_then_schedule_the_next, "date", id="drain", run_date=_now_aware(),
                      max_instances=1)
    scheduler.add_job(drain.reap, "interval", args=(app,), id="reaper",
                      seconds=max(config["OUTBOX_LEASE_SECONDS"] / 4,
                                  config["OUTBOX_POLL_SECONDS"]))
    scheduler.add_job(drain.purge, CronTrigger.from_crontab(config["OUTBOX_PURGE_CRON"],
                                                             timezone="UTC"),
                      args=(app,), id="purge")
    scheduler.add_job(reminders.run_due, CronTrigger.from_crontab(
        config["REMINDERS_CRON"], timezone=config["BABEL_DEFAULT_TIMEZONE"]),
        args=(app,), id="reminders", misfire_grace_time=None, coalesce=True, max_instances=1)
    scheduler.add_job(accounts.purge, CronTrigger.from_crontab(config["OUTBOX_PURGE_CRON"],
                                                                timezone="UTC"),
                      args=(app,), id="accounts-purge")
    scheduler.add_job(documents.purge, CronTrigger.from_crontab(config["OUTBOX_PURGE_CRON"],
                                                                 timezone="UTC"),
                      args=(app,), id="documents-purge")
    scheduler.add_job(drain.heartbeat, "interval", args=(app, worker), id="heartbeat",
                      seconds=config["OUTBOX_HEARTBEAT_SECONDS"], next_run_time=_now_aware())
    return scheduler


def _now_aware() -> datetime:
    return datetime.now(UTC)


def run_worker(app: Flask, worker: str | None = None) -> None:
    """Run the scheduler in the foreground until SIGTERM or SIGINT. A drain in progress stops
    early: what its connections are sending gets OUTBOX_STOP_GRACE_SECONDS, outcomes are
    recorded, the rest is given back to the queue."""
    worker = worker or drain.worker_name()
    stopping = threading.Event()
    scheduler = build_scheduler(app, worker, stop=stopping)

    def stop(signum, _frame):
        log.info("Worker %s stopping (signal %s)", worker, signum)
        stopping.set()
        scheduler.shutdown(wait=True)  # returns once the running drain has wound down

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("Worker %s started", worker)
    try:
        scheduler.start()
    finally:
        with app.app_context():
            outbox.forget_worker(worker)
        log.info("Worker %s stopped", worker)


def background_scheduler(app: Flask, worker: str) -> BackgroundScheduler:
    return build_scheduler(app, worker, BackgroundScheduler)
