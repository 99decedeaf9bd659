"""`flask --app wsgi worker` and `flask --app wsgi outbox drain`."""

from flask import Flask


def register(app: Flask) -> None:
    """Attach the worker's commands to the app's CLI (the worker issue fills them)."""
