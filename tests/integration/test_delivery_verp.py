"""With BOUNCE_ADDRESS, each message's envelope sender names its row (VERP, signed), a header
carries the same reference, and DSN on failure is asked of a relay that offers it. Without it,
nothing changes and the Outbox page says bounces are not collected."""

import sqlalchemy as sa

from jobs.drain import drain_once
from tests import factories
from webapp import outbox
from webapp.extensions import db
from webapp.models.outbox import OutboxMessage
from webapp.outbox import verp


def _queue(app, address="camille@example.org") -> int:
    with app.app_context():
        row = outbox.enqueue(key=outbox.dedupe_key(None, "test", 1, address), to_addr=address,
                             subject="Hello", body_html="<p>Hi</p>", body_text="Hi")
        db.session.commit()
        return row.id


def _admin_client(app):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.post("/auth/login", data={"email": "admin@example.org",
                                     "password": factories.PASSWORD})
    return client


def test_the_envelope_sender_names_the_row_and_a_header_carries_the_same_reference(
        make_app, smtp, users):
    app = make_app(BOUNCE_ADDRESS="bounces@apply.example.org")
    row_id = _queue(app)
    drain_once(app, "w1")
    [message] = smtp.messages
    local, domain = message.mail_from.split("@")
    assert domain == "apply.example.org" and local.startswith("bounces+")
    assert verp.row_of(message.mail_from, "test-secret") == row_id
    assert verp.row_of(message["X-Missive-Ref"], "test-secret") == row_id
    # The signature holds only with the app's secret, and only for that row.
    assert verp.row_of(message.mail_from, "another-secret") is None
    forged = message.mail_from.replace(f"+{row_id}-", f"+{row_id + 1}-")
    assert verp.row_of(forged, "test-secret") is None
    assert smtp.handler.dsn_options == []  # the relay offers no DSN: none asked
    assert 'id="bounces-not-collected"' not in _admin_client(app).get("/outbox/").get_data(
        as_text=True)


def test_a_relay_offering_dsn_is_asked_for_failures_with_headers_and_the_reference(
        make_app, smtp, users):
    smtp.handler.dsn = True
    app = make_app(BOUNCE_ADDRESS="bounces@apply.example.org")
    row_id = _queue(app)
    assert drain_once(app, "w1")["sent"] == 1
    reference = verp.reference(row_id, "test-secret").upper()
    assert smtp.handler.dsn_options == [["RET=HDRS", f"ENVID={reference}"], ["NOTIFY=FAILURE"]]


def test_without_a_bounce_address_the_sender_is_unchanged_and_the_page_says_so(
        app, smtp, users):
    _queue(app)
    drain_once(app, "w1")
    [message] = smtp.messages
    assert message.mail_from == "no-reply@missive.example.org"
    assert message["X-Missive-Ref"] is None
    page = _admin_client(app).get("/outbox/").get_data(as_text=True)
    assert 'id="bounces-not-collected"' in page
    with app.app_context():
        assert db.session.scalar(sa.select(OutboxMessage.state)) == "sent"
