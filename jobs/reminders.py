"""The reminders job: queue what scheduled reminders have due (see services.reminders)."""

from flask import Flask

from webapp.services import reminders


def run_due(app: Flask, dry_run: bool = False) -> list[reminders.RunReport]:
    """One run of the cron job. Safe to run from several workers at once: each email's dedupe
    key lets only one of them insert it."""
    with app.app_context():
        return reminders.run(dry_run=dry_run)


def run_moments(app: Flask) -> list[reminders.RunReport]:
    """Run the reminders before a closing date whose exact moment has just come (a light
    query, every minute); the others wait for the hourly run."""
    with app.app_context():
        due = reminders.due_moments()
        return reminders.run(reminder_ids=due) if due else []
