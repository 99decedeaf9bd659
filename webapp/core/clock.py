"""The clock: every "now" of the app, column defaults included, is `now()`; tests replace it
(and only it) to move time. It sits below the models, which read it for their defaults."""

from datetime import UTC, datetime


def now() -> datetime:
    """Naive UTC: SQLite keeps no offset, so every datetime in the database is naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)
