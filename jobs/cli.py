"""`flask --app wsgi worker` and `flask --app wsgi outbox drain|reap|purge`."""

import json

import click
from flask import Flask

from jobs import drain as jobs_drain


def register(app: Flask) -> None:
    """Attach the worker's commands to the app's CLI."""

    @app.cli.command("worker")
    @click.option("--once", is_flag=True, help="Drain once and exit.")
    def worker_command(once):
        """Run the worker: drain the outbox every few seconds, reap, purge, heartbeat."""
        if once:
            _drain(app)
            return
        from jobs.scheduler import run_worker

        run_worker(app)

    @app.cli.group("outbox")
    def outbox_group():
        """Outbox maintenance."""

    @outbox_group.command("drain")
    def drain_command():
        """Release expired leases, send what is due, print the counts, exit."""
        _drain(app)

    @outbox_group.command("reap")
    def reap_command():
        """Return rows whose worker died mid-batch to pending."""
        click.echo(f"Released {jobs_drain.reap(app)} messages.")

    @outbox_group.command("purge")
    def purge_command():
        """Delete sent and cancelled messages older than OUTBOX_RETENTION_DAYS."""
        click.echo(f"Purged {jobs_drain.purge(app)} messages.")


def _drain(app: Flask) -> None:
    jobs_drain.reap(app)
    try:
        report = jobs_drain.drain_once(app)
    except Exception as error:  # logged with its traceback; the exit status says it failed
        raise click.ClickException(f"Drain failed: {type(error).__name__}: {error}") from error
    click.echo(json.dumps(report))
