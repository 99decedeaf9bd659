"""`flask --app wsgi worker`, `flask --app wsgi outbox drain|reap|purge` and
`flask --app wsgi reminders run [--dry-run]`."""

import json

import click
from flask import Flask

from jobs import drain as jobs_drain
from jobs import reminders as jobs_reminders


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

    @app.cli.group("reminders")
    def reminders_group():
        """Scheduled reminders."""

    @reminders_group.command("run")
    @click.option("--dry-run", is_flag=True, help="Print what would be queued; queue nothing.")
    def reminders_run_command(dry_run):
        """Queue the emails of every reminder due now (what the worker does hourly)."""
        reports = jobs_reminders.run_due(app, dry_run=dry_run)
        for report in reports:
            if not report.planned:
                continue
            audience = ", ".join(f"{n} to {who}" for who, n in report.per_audience.items() if n)
            done = "would queue" if dry_run else f"queued {report.queued} of"
            click.echo(f"Reminder #{report.reminder_id} ({report.campaign_label} · "
                       f"{report.template_name}): {done} {report.planned} emails for "
                       f"{report.applications} applications ({audience})")
        total = sum(r.planned if dry_run else r.queued for r in reports)
        click.echo(f"{'Would queue' if dry_run else 'Queued'} {total} emails.")

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
