"""The time services, the outbox and the jobs ask for: `now()`, which tests replace (the clock
fixture of tests/outbox_support.py).

Not every moment comes from here: functions that take a `now` argument use the one they are
given (clock.now() when none is), and the column defaults of the models (`created_at`,
`updated_at`...) call `models.base.utcnow`, which sits below this module and does not follow a
replaced clock."""

from webapp.models.base import utcnow


def now():
    """Naive UTC, like every datetime in the database."""
    return utcnow()
