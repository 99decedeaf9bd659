"""Bounce collection against a real IMAP server (Dovecot): reports shaped as Postfix, Exim,
Exchange and Gmail write them are filed against their row; complaints suppress; auto-replies
are ignored; what is not understood is kept, unread, and listed; the next email to a bounced
address is written `suppressed`, visibly."""

import imaplib
import os
import ssl
import uuid

import pytest
import sqlalchemy as sa
import trustme

from jobs.bounces import poll_once
from jobs.drain import drain_once
from tests import bounce_messages, factories
from tests.imap_server import IMAPServer, available
from webapp import outbox
from webapp.extensions import db
from webapp.models import DeliveryReport, Suppression
from webapp.models.outbox import OutboxMessage


@pytest.fixture(scope="module")
def imap_ca():
    return trustme.CA()


@pytest.fixture(scope="module")
def imap_server(imap_ca):
    if not available():
        if os.environ.get("TEST_IMAP_REQUIRED") == "1":
            pytest.fail("Dovecot (dovecot-imapd) is required but not installed")
        pytest.skip("Dovecot (dovecot-imapd) is not installed")
    server = IMAPServer(ca=imap_ca).start()
    yield server
    server.stop()


@pytest.fixture
def imap(imap_server, imap_ca, tmp_path):
    """The server, a folder of this test's own, and a client to APPEND reports with."""
    folder = f"Bounces-{uuid.uuid4().hex[:8]}"
    context = ssl.create_default_context()
    imap_ca.configure_trust(context)
    client = imaplib.IMAP4_SSL("127.0.0.1", imap_server.port, ssl_context=context)
    client.login(imap_server.user, imap_server.password)
    client.create(folder)
    ca_file = tmp_path / "imap-ca.pem"
    imap_ca.cert_pem.write_to_path(str(ca_file))
    client.folder = folder
    client.settings = dict(BOUNCE_ADDRESS="bounces@apply.example.org",
                           BOUNCE_IMAP_HOST="127.0.0.1", BOUNCE_IMAP_PORT=imap_server.port,
                           BOUNCE_IMAP_USER=imap_server.user,
                           BOUNCE_IMAP_PASSWORD=imap_server.password,
                           BOUNCE_IMAP_FOLDER=folder, BOUNCE_IMAP_CA_FILE=str(ca_file))
    client.append_report = lambda raw: client.append(folder, None, None, raw)
    yield client
    client.logout()


def _send(app, smtp, address: str, number: int = 1, trigger_id=None):
    with app.app_context():
        outbox.enqueue(key=outbox.dedupe_key(None, "test", number, address), to_addr=address,
                       subject=f"Your application {number}", body_html="<p>Hi</p>",
                       body_text="Hi")
        db.session.commit()
    drain_once(app, "w1")
    return smtp.to(address)[-1]


def _row(address: str) -> OutboxMessage:
    db.session.expire_all()
    return db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.to_addr == address)
                              .order_by(OutboxMessage.id)).first()


@pytest.mark.parametrize("shape,reason", [
    (bounce_messages.postfix, 'the address does not exist; unknown user: "nobody"; user unknown'),
    (bounce_messages.postfix_mailbox_full,
     "the mailbox is full; cannot update mailbox /var/mail/nobody for user nobody. error writing"
     " message: File too large"),
    (bounce_messages.exim, "the address does not exist"),
    (bounce_messages.exchange, "RESOLVER.ADR.RecipientNotFound"),
    (bounce_messages.gmail, "The email account that you tried to reach does not exist"),
])
def test_a_hard_bounce_marks_the_row_and_suppresses_the_next_email(
        make_app, smtp, imap, shape, reason):
    app = make_app(**imap.settings)
    received = _send(app, smtp, "nobody@example.net")
    imap.append_report(shape(received))

    filed = poll_once(app)
    assert filed["hard"] == 1 and filed["unknown"] == 0
    with app.app_context():
        row = _row("nobody@example.net")
        assert (row.state, row.delivery) == ("sent", "bounced")
        assert reason in row.delivery_detail
        entry = db.session.scalars(sa.select(Suppression)).one()
        assert (entry.address, entry.kind) == ("nobody@example.net", "hard")
        # The next email to that address is written, visibly, and never claimed.
        outbox.enqueue(key="next", to_addr="Nobody@Example.net", subject="Decision",
                       body_html="<p>Decision</p>", body_text="Decision")
        db.session.commit()
        later = db.session.scalars(sa.select(OutboxMessage)
                                   .where(OutboxMessage.dedupe_key == "next")).one()
        assert later.state == "suppressed" and reason in later.delivery_detail
    smtp.reset()
    drain_once(app, "w1")
    assert smtp.messages == []
    # A second poll reads nothing new: each message is filed once.
    assert poll_once(app)["read"] == 0


def test_a_full_mailbox_given_up_by_the_relay_is_a_soft_bounce_that_counts(
        make_app, smtp, imap):
    app = make_app(SUPPRESSION_SOFT_LIMIT=2, **imap.settings)
    first = _send(app, smtp, "full@example.net", 1)
    imap.append_report(bounce_messages.postfix(first, status="4.2.2",
                                               diagnostic="x-unix; mailbox full"))
    assert poll_once(app)["soft"] == 1
    with app.app_context():
        assert _row("full@example.net").delivery == "bounced"
        assert "mailbox is full" in _row("full@example.net").delivery_detail
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Suppression)) == 0
    second = _send(app, smtp, "full@example.net", 2)
    imap.append_report(bounce_messages.gmail(second, status="4.2.2"))
    assert poll_once(app)["soft"] == 1
    with app.app_context():
        entry = db.session.scalars(sa.select(Suppression)).one()
        assert entry.kind == "soft" and entry.expires_at is not None


def test_a_complaint_suppresses_and_an_auto_reply_is_ignored(make_app, smtp, imap):
    app = make_app(**imap.settings)
    complained = _send(app, smtp, "angry@example.net", 1)
    away = _send(app, smtp, "away@example.net", 2)
    imap.append_report(bounce_messages.arf(complained))
    imap.append_report(bounce_messages.auto_reply(away))
    filed = poll_once(app)
    assert (filed["complaints"], filed["auto_replies"], filed["hard"]) == (1, 1, 0)
    with app.app_context():
        assert _row("angry@example.net").delivery == "complained"
        assert _row("away@example.net").delivery == ""
        assert db.session.scalars(sa.select(Suppression.address)).all() == ["angry@example.net"]


def test_an_unknown_message_is_kept_unread_listed_and_suppresses_nobody(
        make_app, smtp, imap, users):
    app = make_app(**imap.settings)
    received = _send(app, smtp, "someone@example.net")
    imap.append_report(bounce_messages.unknown())
    # A bounce naming no row of ours (its reference forged) is not acted on either.
    forged = bounce_messages.postfix(received).replace(b"bounces+", b"bounces+9")
    forged = forged.replace(received["X-Missive-Ref"].encode(), b"1-0000000000000000")
    imap.append_report(forged)
    filed = poll_once(app)
    assert filed["unknown"] == 2 and filed["hard"] == 0
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Suppression)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DeliveryReport)) == 2
    imap.select(imap.folder)
    typ, data = imap.search(None, "UNSEEN")
    assert len(data[0].split()) == 2  # kept, unread, for a person to look at
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.post("/auth/login", data={"email": "admin@example.org",
                                     "password": factories.PASSWORD})
    page = client.get("/outbox/").get_data(as_text=True)
    assert "Question about my application" in page


def test_a_refusal_at_rcpt_is_a_hard_bounce_at_once(app, smtp):
    smtp.handler.rcpt_reply = lambda address: ("550 5.1.1 <gone@example.net>: Recipient "
                                               "address rejected: User unknown"
                                               if address.startswith("gone") else None)
    with app.app_context():
        outbox.enqueue(key="a", to_addr="gone@example.net", subject="A",
                       body_html="<p>A</p>", body_text="A")
        db.session.commit()
    drain_once(app, "w1")
    with app.app_context():
        row = _row("gone@example.net")
        assert (row.state, row.delivery) == ("failed", "bounced")
        assert "does not exist" in row.delivery_detail
        outbox.enqueue(key="b", to_addr="gone@example.net", subject="B",
                       body_html="<p>B</p>", body_text="B")
        db.session.commit()
        assert db.session.scalar(sa.select(OutboxMessage.state)
                                 .where(OutboxMessage.dedupe_key == "b")) == "suppressed"


def test_a_wrong_imap_certificate_is_refused(make_app, imap, tmp_path):
    other = trustme.CA()
    wrong = tmp_path / "other-ca.pem"
    other.cert_pem.write_to_path(str(wrong))
    app = make_app(**{**imap.settings, "BOUNCE_IMAP_CA_FILE": str(wrong)})
    assert "CERTIFICATE_VERIFY_FAILED" in poll_once(app)["error"]


def test_a_mail_to_the_unsubscribe_address_unsubscribes_from_reminders(make_app, smtp, imap):
    app = make_app(**imap.settings)
    with app.app_context():
        outbox.enqueue(key="r", to_addr="camille@example.org", subject="Reminder",
                       body_html="<p>R</p>", body_text="R", event_type="reminder")
        db.session.commit()
    drain_once(app, "w1")
    [received] = smtp.messages
    mailto = received["List-Unsubscribe"].split("<mailto:")[1].split("?")[0]
    imap.append_report((f"From: camille@example.org\r\nTo: {mailto}\r\n"
                        "Subject: unsubscribe\r\n\r\n").encode())
    assert poll_once(app)["unsubscribed"] == 1
    with app.app_context():
        entry = db.session.scalars(sa.select(Suppression)).one()
        assert (entry.address, entry.kind) == ("camille@example.org", "unsubscribed")


def test_many_bounces_in_one_poll_are_filed_together(make_app, smtp, imap):
    app = make_app(**imap.settings)
    sent = [_send(app, smtp, f"gone{n}@example.net", n) for n in range(3)]
    with app.app_context():  # waiting for the first address: withdrawn when it bounces
        outbox.enqueue(key="waiting", to_addr="gone0@example.net", subject="Waiting",
                       body_html="<p>W</p>", body_text="W")
        db.session.commit()
    for received in sent:
        imap.append_report(bounce_messages.postfix(received))
    imap.append_report(bounce_messages.postfix(sent[0]))  # the same address twice
    assert poll_once(app)["hard"] == 4
    with app.app_context():
        assert sorted(db.session.scalars(sa.select(Suppression.address))) == [
            "gone0@example.net", "gone1@example.net", "gone2@example.net"]
        assert db.session.scalar(sa.select(OutboxMessage.state)
                                 .where(OutboxMessage.dedupe_key == "waiting")) == "suppressed"
