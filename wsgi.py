"""Composition root: the web app, with the worker's commands attached to its CLI."""

from jobs.cli import register as register_jobs
from webapp import create_app

app = create_app()
register_jobs(app)
