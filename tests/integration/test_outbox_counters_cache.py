"""The Outbox counters of a large outbox are kept a few seconds; this process's own actions
make them exact again at once. Small outboxes are always counted."""

import sqlalchemy as sa

from tests.outbox_support import queue_messages
from webapp import outbox
from webapp.extensions import db
from webapp.models.outbox import OutboxMessage
from webapp.outbox import admin as outbox_admin


def test_large_outbox_counts_are_kept_until_an_action_of_this_process(make_app):
    app = make_app(OUTBOX_COUNTERS_EXACT_BELOW=5, OUTBOX_COUNTERS_CACHE_SECONDS=3600)
    try:
        with app.app_context():
            queue_messages(5)
            assert outbox.counters()["pending"] == 5
            queue_messages(2, prefix="other")  # e.g. another process enqueued meanwhile
            assert outbox.counters()["pending"] == 5

            first = db.session.scalar(sa.select(sa.func.min(OutboxMessage.id)))
            outbox.cancel(None, first)
            counts = outbox.counters()
            assert counts["pending"] == 6 and counts["cancelled"] == 1
    finally:
        outbox_admin.forget_counts()


def test_small_outbox_counts_are_always_exact(app):
    with app.app_context():
        queue_messages(3)
        assert outbox.counters()["pending"] == 3
        queue_messages(2, prefix="other")
        assert outbox.counters()["pending"] == 5
