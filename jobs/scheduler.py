"""The worker's scheduler: drain, reaper, purge and heartbeat jobs (APScheduler 3)."""

import logging
import signal
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask

from jobs import drain
from webapp import outbox

log = logging.getLogger("missive.worker")


def build_scheduler(app: Flask, worker: str,
                    scheduler_class: type[BaseScheduler] = BlockingScheduler) -> BaseScheduler:
    """A scheduler with the worker's jobs. One drain at a time (max_instances=1); a drain that
    falls behind runs once, not once per missed tick (coalesce)."""
    config = app.config
    scheduler = scheduler_class(timezone="UTC", job_defaults={"coalesce": True,
                                                              "max_instances": 1})
    scheduler.add_job(drain.drain_once, "interval", args=(app, worker), id="drain",
                      seconds=config["OUTBOX_POLL_SECONDS"], next_run_time=_now_aware(),
                      max_instances=1, coalesce=True)
    scheduler.add_job(drain.reap, "interval", args=(app,), id="reaper",
                      seconds=max(config["OUTBOX_LEASE_SECONDS"] / 4,
                                  config["OUTBOX_POLL_SECONDS"]))
    scheduler.add_job(drain.purge, CronTrigger.from_crontab(config["OUTBOX_PURGE_CRON"],
                                                             timezone="UTC"),
                      args=(app,), id="purge")
    scheduler.add_job(drain.heartbeat, "interval", args=(app, worker), id="heartbeat",
                      seconds=config["OUTBOX_HEARTBEAT_SECONDS"], next_run_time=_now_aware())
    return scheduler


def _now_aware() -> datetime:
    return datetime.now(UTC)


def run_worker(app: Flask, worker: str | None = None) -> None:
    """Run the scheduler in the foreground until SIGTERM or SIGINT; a drain in progress
    finishes first (its rows are recorded, not left to the reaper)."""
    worker = worker or drain.worker_name()
    scheduler = build_scheduler(app, worker)

    def stop(signum, _frame):
        log.info("Worker %s stopping (signal %s)", worker, signum)
        scheduler.shutdown(wait=True)  # lets a running drain record its outcomes

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
