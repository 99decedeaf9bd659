"""Helpers for the worker's tests: queue messages, a controllable clock, count deliveries."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from webapp import outbox
from webapp.extensions import db
from webapp.models.outbox import OutboxMessage


def queue_messages(count: int, prefix: str = "user", **fields) -> list[str]:
    """Commit `count` pending messages to distinct recipients; returns their Message-IDs."""
    rows = []
    for i in range(count):
        address = f"{prefix}{i}@example.org"
        values = dict(key=outbox.dedupe_key(None, "test", i, address), to_addr=address,
                      subject=f"Hello {i}", body_html=f"<p>Hi {i}</p>", body_text=f"Hi {i}")
        values.update(fields)
        rows.append(outbox.message_values(**values))
    db.session.execute(sa.insert(OutboxMessage.__table__), rows)
    db.session.commit()
    return [row["message_id"] for row in rows]


def delivered(smtp) -> Counter:
    """How many times the server received each Message-ID."""
    return Counter(m.message["Message-ID"] for m in smtp.messages)


def states() -> Counter:
    db.session.expire_all()
    return Counter(db.session.scalars(sa.select(OutboxMessage.state)))


class Clock:
    def __init__(self):
        self.offset = timedelta()
        self.frozen_at = None

    def now(self):
        return (self.frozen_at or datetime.now(UTC).replace(tzinfo=None)) + self.offset

    def advance(self, **delta) -> None:
        self.offset += timedelta(**delta)

    def freeze(self, at=None) -> None:
        """Stop the clock at `at` (naive UTC; default: now): only advance() moves it."""
        self.frozen_at, self.offset = at or self.now(), timedelta()


@pytest.fixture(name="clock")
def clock_fixture(monkeypatch):
    """The one allowed fake: core.clock.now, moved forward by the test."""
    from webapp.core import clock as clock_module

    fake = Clock()
    monkeypatch.setattr(clock_module, "now", fake.now)
    return fake
