"""Composition root: the web app, with the worker's commands attached to its CLI, and under
`make run` (flask run with EMBEDDED_WORKER / DEV_MAIL_CATCHER) the embedded worker."""

from jobs.cli import register as register_jobs
from jobs.embedded import start_if_serving
from webapp import create_app

app = create_app()
register_jobs(app)
start_if_serving(app)
