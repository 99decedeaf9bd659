"""`make run`: the worker's scheduler and a development mail catcher inside the dev server.

Started exactly once: only under `flask run`, only in the process that serves (the reloader's
child, not its watching parent), never under gunicorn (production runs separate workers).
"""

import atexit
import logging
import os
from pathlib import Path

from flask import Flask

from webapp.services import mailbox

log = logging.getLogger("missive.embedded")
_started: dict[str, object] = {}


def should_start(config, *, debug: bool, command: str | None, environ=os.environ) -> bool:
    """Whether this process should run the embedded worker and catcher."""
    if not (config.get("EMBEDDED_WORKER") or config.get("DEV_MAIL_CATCHER")):
        return False
    if command != "run" or "gunicorn" in environ.get("SERVER_SOFTWARE", ""):
        return False
    # With the reloader (debug), the parent only watches files; its child serves.
    return environ.get("WERKZEUG_RUN_MAIN") == "true" or not debug


class CatcherHandler:
    """aiosmtpd handler: every message accepted and stored in the mailbox folder."""

    def __init__(self, into: Path):
        self.into = into

    async def handle_DATA(self, server, session, envelope):
        mailbox.store(self.into, envelope.content, list(envelope.rcpt_tos))
        return "250 Message caught"


def start_catcher(app: Flask):
    """Listen on 127.0.0.1:DEV_MAIL_CATCHER_PORT and point the app's mail settings at it."""
    from aiosmtpd.controller import Controller

    with app.app_context():
        into = mailbox.folder()
    port = app.config["DEV_MAIL_CATCHER_PORT"]
    controller = Controller(CatcherHandler(into), hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False,
                      MAIL_USE_SSL=False, MAIL_USERNAME=None, MAIL_PASSWORD=None)
    log.info("Mail catcher listening on 127.0.0.1:%s; read it on the Mailbox page", port)
    return controller


def start(app: Flask) -> None:
    """Start what the flags ask for, once per process."""
    if _started:
        return
    if app.config.get("DEV_MAIL_CATCHER"):
        try:
            _started["catcher"] = start_catcher(app)
            atexit.register(_started["catcher"].stop)
        except OSError as error:
            log.warning("Mail catcher not started: %s", error)
    if app.config.get("EMBEDDED_WORKER"):
        from jobs.drain import worker_name
        from jobs.scheduler import background_scheduler

        scheduler = background_scheduler(app, f"{worker_name()}:embedded")
        scheduler.start()
        _started["scheduler"] = scheduler
        atexit.register(scheduler.shutdown, wait=False)
        log.info("Embedded worker started")


def start_if_serving(app: Flask) -> None:
    """wsgi.py's hook: start the embedded pieces when `flask run` serves this app."""
    import click

    context = click.get_current_context(silent=True)
    command = context.info_name if context else None
    if should_start(app.config, debug=app.debug, command=command):
        start(app)
