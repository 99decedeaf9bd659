"""The worker's scheduler: drain, reaper, purge, reminders and heartbeat jobs (APScheduler 3)."""

import functools
import logging
import os
import signal
import threading
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask

from jobs import accounts, bounces, documents, drain, reminders
from webapp import outbox

log = logging.getLogger("missive.worker")


class RunningJobs:
    """Counts the jobs running now, so a stopping worker can wait for them, up to a bound."""

    def __init__(self):
        self.count = 0
        self._changed = threading.Condition()

    def track(self, job):
        @functools.wraps(job)
        def run(*args, **kwargs):
            with self._changed:
                self.count += 1
            try:
                return job(*args, **kwargs)
            finally:
                with self._changed:
                    self.count -= 1
                    self._changed.notify_all()
        return run

    def wait_idle(self, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self.count == 0, timeout)


def build_scheduler(app: Flask, worker: str,
                    scheduler_class: type[BaseScheduler] = BlockingScheduler,
                    stop: threading.Event | None = None,
                    running: RunningJobs | None = None) -> BaseScheduler:
    """A scheduler with the worker's jobs. The drain runs one at a time and schedules its next
    run OUTBOX_POLL_SECONDS after it ends, so a long drain is never due again while it runs
    (an interval job would log "maximum number of running instances reached" every poll).
    Setting `stop` ends a running drain early and schedules no other; `running` counts the
    jobs in progress."""
    config = app.config
    stop = stop or threading.Event()
    track = (running or RunningJobs()).track
    scheduler = scheduler_class(timezone="UTC", job_defaults={"coalesce": True,
                                                              "max_instances": 1})
    poll = timedelta(seconds=config["OUTBOX_POLL_SECONDS"])

    @track
    def drain_then_schedule_the_next() -> None:
        if stop.is_set():  # started after the stop (it was waiting for a thread): nothing to do
            return
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
    scheduler.add_job(track(drain.reap), "interval", args=(app,), id="reaper",
                      seconds=max(config["OUTBOX_LEASE_SECONDS"] / 4,
                                  config["OUTBOX_POLL_SECONDS"]))
    scheduler.add_job(track(drain.purge), CronTrigger.from_crontab(config["OUTBOX_PURGE_CRON"],
                                                             timezone="UTC"),
                      args=(app,), id="purge")
    scheduler.add_job(track(reminders.run_due), CronTrigger.from_crontab(
        config["REMINDERS_CRON"], timezone=config["BABEL_DEFAULT_TIMEZONE"]),
        args=(app,), id="reminders", misfire_grace_time=None, coalesce=True, max_instances=1)
    # Between the hourly runs, a reminder before a closing date leaves at its exact moment (an
    # hour before a closing at 00:30 leaves at 23:30, not at midnight).
    scheduler.add_job(track(reminders.run_moments), "interval", args=(app,), id="reminder-moments",
                      seconds=60)
    scheduler.add_job(track(accounts.purge), CronTrigger.from_crontab(config["OUTBOX_PURGE_CRON"],
                                                                timezone="UTC"),
                      args=(app,), id="accounts-purge")
    scheduler.add_job(track(documents.purge), CronTrigger.from_crontab(config["OUTBOX_PURGE_CRON"],
                                                                        timezone="UTC"),
                      args=(app,), id="documents-purge")
    if config.get("BOUNCE_IMAP_HOST"):
        scheduler.add_job(track(bounces.poll_once), "interval", args=(app,), id="bounces",
                          seconds=config["BOUNCE_POLL_SECONDS"], max_instances=1, coalesce=True)

    @track
    def heartbeat() -> None:
        if not stop.is_set():  # a stopped worker's heartbeat row is gone: keep it gone
            drain.heartbeat(app, worker)

    scheduler.add_job(heartbeat, "interval", id="heartbeat",
                      seconds=config["OUTBOX_HEARTBEAT_SECONDS"], next_run_time=_now_aware())
    return scheduler


def _now_aware() -> datetime:
    return datetime.now(UTC)


def run_worker(app: Flask, worker: str | None = None) -> None:
    """Run the scheduler in the foreground until SIGTERM or SIGINT. A drain in progress stops
    early: what its connections are sending gets OUTBOX_STOP_GRACE_SECONDS, outcomes are
    recorded, the rest is given back to the queue.

    The stop is bounded even when the database does not answer: after the grace and
    OUTBOX_STOP_COMMIT_SECONDS for the last writes, the process exits (status 1) without
    waiting for a job stuck in a database call; the rows that job held return to the queue
    when their lease expires."""
    worker = worker or drain.worker_name()
    stopping = threading.Event()
    running = RunningJobs()
    scheduler = build_scheduler(app, worker, stop=stopping, running=running)

    def stop(signum, _frame):
        if stopping.is_set():
            return
        log.info("Worker %s stopping (signal %s)", worker, signum)
        stopping.set()
        scheduler.shutdown(wait=False)  # start() returns; the jobs are waited for below

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("Worker %s started", worker)
    config = app.config
    bound = config["OUTBOX_STOP_GRACE_SECONDS"] + config["OUTBOX_STOP_COMMIT_SECONDS"]
    try:
        scheduler.start()
    finally:
        if not running.wait_idle(bound) or not _within(
                config["OUTBOX_STOP_COMMIT_SECONDS"], _forget, app, worker):
            log.warning("Worker %s stopped without its last database writes (no answer after "
                        "%ss): the messages it held return to the queue when their lease "
                        "expires", worker, bound)
            logging.shutdown()
            os._exit(1)  # the stuck job's thread would hold the interpreter's exit
        log.info("Worker %s stopped", worker)


def _forget(app: Flask, worker: str) -> None:
    with app.app_context():
        outbox.forget_worker(worker)


def _within(seconds: float, function, *args) -> bool:
    """Run `function` in a thread; whether it ended within `seconds` (its errors logged)."""

    def run():
        try:
            function(*args)
        except Exception:
            log.warning("%s failed", function.__name__, exc_info=True)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive()


def background_scheduler(app: Flask, worker: str) -> BackgroundScheduler:
    return build_scheduler(app, worker, BackgroundScheduler)
