"""Account housekeeping for the worker: sessions past their limits, sign-in failures old
enough to be forgotten."""

from flask import Flask

from webapp.services import sessions, sign_in


def purge(app: Flask) -> int:
    """Delete expired sessions and stale sign-in counts; returns how many rows went."""
    with app.app_context():
        return sessions.purge_expired() + sign_in.purge_stale()
