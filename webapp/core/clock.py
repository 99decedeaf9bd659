"""The single seam for time: tests may replace `now`."""

from webapp.models.base import utcnow


def now():
    """Naive UTC, like every datetime in the database."""
    return utcnow()
