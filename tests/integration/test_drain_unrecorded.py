"""The promise of DESIGN.md under the default settings: when a message's content reaches the
server, every earlier message of the same connection is already recorded as sent, so a crash
can resend at most the one in flight."""

import email

import sqlalchemy as sa

from jobs.drain import drain_once
from tests.outbox_support import queue_messages, states
from webapp.models.outbox import OutboxMessage


def test_each_message_goes_out_only_after_the_previous_one_of_its_connection_is_recorded(
        app, database_url, smtp):
    with app.app_context():
        queue_messages(120)
    engine = sa.create_engine(database_url)
    unrecorded_seen = []

    def check_earlier_ones(received):
        earlier = [email.message_from_bytes(m.data)["Message-ID"] for m in smtp.handler.messages
                   if m.session_id == received.session_id]
        if earlier:
            with engine.connect() as connection:
                unrecorded_seen.append(connection.scalar(
                    sa.select(sa.func.count()).select_from(OutboxMessage)
                    .where(OutboxMessage.message_id.in_(earlier),
                           OutboxMessage.state != "sent")))
        return None

    smtp.handler.data_reply = check_earlier_ones
    try:
        report = drain_once(app)  # the defaults: several connections, group commits
    finally:
        engine.dispose()

    assert report["sent"] == 120
    assert smtp.sessions >= 2
    assert len(unrecorded_seen) >= 100 and set(unrecorded_seen) == {0}
    with app.app_context():
        assert states() == {"sent": 120}
