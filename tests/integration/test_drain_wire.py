"""The drain on the wire: the relay's own reply kept and shown, verified TLS, the EHLO name."""

import email
import email.policy

import pytest
import sqlalchemy as sa
import trustme

from jobs.drain import drain_once
from tests.outbox_support import queue_messages, states
from tests.smtp_server import SMTPServer, server_tls_context
from webapp.extensions import db
from webapp.models.outbox import OutboxAttempt, OutboxMessage


def attempts_by_message_id() -> dict[str, OutboxAttempt]:
    rows = db.session.execute(sa.select(OutboxMessage.message_id, OutboxAttempt)
                              .join(OutboxAttempt.message)).all()
    return {message_id: attempt for message_id, attempt in rows}


def test_each_attempt_keeps_the_relays_own_reply_and_the_detail_page_shows_it(
        app, smtp, client, auth):
    with app.app_context():
        ids = queue_messages(3)
    drain_once(app)

    replies = {m.message["Message-ID"]: m.reply for m in smtp.messages}
    assert sorted(replies) == sorted(ids)
    assert len(set(replies.values())) == 3  # a queue id of its own for each message
    with app.app_context():
        attempts = attempts_by_message_id()
        for message_id in ids:
            attempt = attempts[message_id]
            assert attempt.outcome == "sent"
            assert f"{attempt.smtp_code} {attempt.smtp_text}" == replies[message_id]
        row_id = attempts[ids[0]].message_id

    auth.login_as("admin")
    page = client.get(f"/outbox/{row_id}").get_data(as_text=True)
    assert replies[ids[0]] in page  # e.g. "250 2.0.0 Ok: queued as 6C804176601"
    assert "250 250" not in page


@pytest.mark.parametrize("connections", [1, 3])
def test_a_relay_offering_pipelining_gets_every_message_once(make_app, smtp, connections):
    smtp.handler.pipelining = True
    smtp.handler.rcpt_reply = lambda address: (
        "451 4.3.0 Try again later" if address == "user7@example.org" else None)
    app = make_app(OUTBOX_SMTP_CONNECTIONS=connections, OUTBOX_BATCH_SIZE=10)
    with app.app_context():
        ids = queue_messages(30)
    report = drain_once(app)

    assert (report["sent"], report["retried"]) == (29, 1)
    assert sorted(m.message["Message-ID"] for m in smtp.messages) == sorted(
        ids[:7] + ids[8:])
    with app.app_context():
        attempts = attempts_by_message_id()
        assert attempts[ids[7]].smtp_text == "4.3.0 Try again later"
        for received in smtp.messages:
            attempt = attempts[received.message["Message-ID"]]
            assert f"{attempt.smtp_code} {attempt.smtp_text}" == received.reply


def test_a_partly_refused_message_keeps_the_reply_and_the_refusal(app, smtp):
    with app.app_context():
        [message_id] = queue_messages(1, cc="nobody@example.org")
    smtp.handler.rcpt_reply = lambda address: (
        "550 5.1.1 No such user" if address == "nobody@example.org" else None)
    drain_once(app)

    [received] = smtp.messages
    with app.app_context():
        attempt = attempts_by_message_id()[message_id]
        assert attempt.smtp_code == 250
        assert attempt.smtp_text == (received.reply.removeprefix("250 ")
                                     + "; refused: nobody@example.org 550 5.1.1 No such user")


def test_the_drain_says_the_configured_ehlo_name(make_app, smtp):
    app = make_app(MAIL_EHLO_NAME="outbox-1.missive.example.org")
    with app.app_context():
        queue_messages(2)
    drain_once(app)
    assert set(smtp.handler.ehlo_names) == {"outbox-1.missive.example.org"}


def test_without_an_ehlo_name_the_drain_says_a_dotted_name(make_app, smtp):
    app = make_app(MAIL_MESSAGE_ID_DOMAIN="apply.example.org")
    with app.app_context():
        queue_messages(1)
    drain_once(app)
    [name] = set(smtp.handler.ehlo_names)
    assert "." in name and not name.startswith("[")


def test_the_date_header_is_in_numeric_utc_form(app, smtp):
    with app.app_context():
        queue_messages(1)
    drain_once(app)
    [received] = smtp.messages
    message = email.message_from_bytes(received.data, policy=email.policy.default)
    assert str(message["Date"]).endswith(" +0000")


def test_long_headers_arrive_folded_within_the_limits_and_read_back_identical(app, smtp):
    # As long as the columns hold (subject 300, name 200); longer ones: tests/unit/test_mime.py.
    subject = ("Accusé de réception : " + "résidence " * 12 + "x" * 120)[:300]
    name = "Éléonore-Marie de la Rochefoucauld-Montmorency Saint-Exupéry van der Berghe Łukasz"
    with app.app_context():
        queue_messages(1, subject=subject, to_name=name)
    drain_once(app)

    [received] = smtp.messages
    head = received.data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    for line in head.split("\r\n"):
        assert len(line) <= (76 if "=?" in line else 78), line
    message = email.message_from_bytes(received.data, policy=email.policy.default)
    assert message["Subject"] == subject
    assert message["To"].addresses[0].display_name == name


# --- TLS -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca, tmp_path_factory):
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="module")
def tls_for_another_name(ca):
    server = SMTPServer(tls_context=server_tls_context(ca, "mail.example.net")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tls_for_its_address(ca):
    server = SMTPServer(tls_context=server_tls_context(ca, "127.0.0.1")).start()
    yield server
    server.stop()


def test_a_relay_whose_certificate_is_for_another_name_gets_nothing(
        make_app, tls_for_another_name, ca_file):
    tls_for_another_name.reset()
    app = make_app(MAIL_PORT=tls_for_another_name.port, MAIL_USE_TLS=True, MAIL_CA_FILE=ca_file)
    with app.app_context():
        [message_id] = queue_messages(1)
    report = drain_once(app)

    assert report["sent"] == 0
    assert tls_for_another_name.messages == []
    with app.app_context():
        assert states() == {"pending": 1}
        attempt = attempts_by_message_id()[message_id]
        # A configuration error: sending pauses, the message's attempts are not spent.
        assert attempt.outcome == "config"
        assert "certificate failed verification" in attempt.smtp_text
        assert db.session.scalar(sa.select(OutboxMessage.attempts)) == 0


def test_with_verification_turned_off_the_same_relay_gets_the_mail(
        make_app, tls_for_another_name):
    tls_for_another_name.reset()
    app = make_app(MAIL_PORT=tls_for_another_name.port, MAIL_USE_TLS=True,
                   MAIL_TLS_VERIFY=False)
    with app.app_context():
        queue_messages(1)
    assert drain_once(app)["sent"] == 1
    assert len(tls_for_another_name.messages) == 1


def test_a_relay_certified_by_the_configured_ca_gets_the_mail(
        make_app, tls_for_its_address, ca_file):
    tls_for_its_address.reset()
    app = make_app(MAIL_PORT=tls_for_its_address.port, MAIL_USE_TLS=True, MAIL_CA_FILE=ca_file)
    with app.app_context():
        [message_id] = queue_messages(1)
    assert drain_once(app)["sent"] == 1
    [received] = tls_for_its_address.messages
    with app.app_context():
        attempt = attempts_by_message_id()[message_id]
        assert f"{attempt.smtp_code} {attempt.smtp_text}" == received.reply
