"""Addresses are checked and normalised once, when the row is written; what cannot be sent
fails that row with its reason and leaves the connection clean for the next message; a
certificate or login refused by the relay pauses sending without spending attempts."""

import smtplib

import pytest
import sqlalchemy as sa
import trustme

from jobs.drain import drain_once
from tests import factories
from tests.outbox_support import clock_fixture, delivered, states  # noqa: F401
from tests.smtp_server import SMTPServer, server_tls_context
from webapp import outbox
from webapp.extensions import db
from webapp.models.outbox import OutboxAttempt, OutboxMessage


def _enqueue(address: str, number: int) -> None:
    outbox.enqueue(key=outbox.dedupe_key(None, "test", number, address), to_addr=address,
                   subject=f"Hello {number}", body_html="<p>Hi</p>", body_text="Hi")


def _row(address_like: str) -> OutboxMessage:
    db.session.expire_all()
    return db.session.scalars(sa.select(OutboxMessage)
                              .where(OutboxMessage.subject == address_like)).one()


def test_an_internationalised_domain_goes_out_in_idna_and_the_next_message_is_untouched(
        app, smtp):
    # The test server offers no PIPELINING: MAIL, RCPT and DATA one at a time.
    with app.app_context():
        _enqueue("idn@exämple.org", 1)
        _enqueue("next@example.org", 2)
        db.session.commit()
    report = drain_once(app, "w1", OUTBOX_SMTP_CONNECTIONS=1)
    assert report["sent"] == 2
    assert smtp.to("idn@xn--exmple-cua.org") and smtp.to("next@example.org")
    assert smtp.to("idn@xn--exmple-cua.org")[0]["To"] == "idn@xn--exmple-cua.org"


@pytest.mark.parametrize("pipelining", [False, True])
def test_an_address_needing_smtputf8_fails_its_row_alone_with_the_reason(app, smtp, pipelining):
    smtp.handler.pipelining = pipelining
    smtp.handler.smtputf8 = False
    with app.app_context():
        _enqueue("jürgen@example.org", 1)
        _enqueue("next@example.org", 2)
        db.session.commit()
    report = drain_once(app, "w1", OUTBOX_SMTP_CONNECTIONS=1)
    assert (report["sent"], report["failed"], report["retried"]) == (1, 1, 0)
    assert [m.rcpt_tos for m in smtp.messages] == [["next@example.org"]]
    with app.app_context():
        row = _row("Hello 1")
        assert row.state == "failed" and row.attempts == 1
        assert "SMTPUTF8" in row.last_error and "jürgen@example.org" in row.last_error
    # No "503 nested MAIL command" anywhere: every transaction started clean.
    assert not any(reply.startswith("503") for reply in smtp.handler.replies)


def test_an_address_needing_smtputf8_goes_out_when_the_relay_offers_it(app, smtp):
    with app.app_context():
        _enqueue("jürgen@example.org", 1)
        db.session.commit()
    assert drain_once(app, "w1")["sent"] == 1
    assert smtp.to("jürgen@example.org")


def test_a_row_naming_two_recipients_is_written_failed_and_reaches_nobody(app, smtp):
    with app.app_context():
        _enqueue("a@example.org, b@example.org", 1)
        db.session.commit()
        row = _row("Hello 1")
        assert row.state == "failed"
        assert "a@example.org, b@example.org" in row.last_error
    drain_once(app, "w1")
    assert smtp.messages == []


@pytest.mark.parametrize("pipelining", [False, True])
def test_an_encoding_error_mid_envelope_leaves_the_connection_clean_for_the_next_message(
        smtp, pipelining):
    """The relay has heard MAIL when an RCPT cannot be encoded (a lone surrogate, which no
    check lets through but a bug could): the next message on that connection must not meet a
    half-open transaction ("503 nested MAIL command")."""
    from tests.integration.test_smtp_connection import MESSAGE, Settings
    from webapp.outbox.smtp import Connection

    smtp.handler.pipelining = pipelining
    connection = Connection(Settings(smtp.port))
    try:
        with pytest.raises(UnicodeError):
            connection.send("no-reply@missive.example.org", ["bad\udce9@example.org"], MESSAGE)
        delivery = connection.send("no-reply@missive.example.org", ["camille@example.org"],
                                   MESSAGE)
    finally:
        connection.close()
    assert delivery.reply.code == 250
    assert [m.rcpt_tos for m in smtp.messages] == [["camille@example.org"]]
    assert not any(reply.startswith("503") for reply in smtp.handler.replies)


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


def test_a_certificate_that_fails_verification_pauses_sending_without_spending_attempts(
        make_app, ca, clock, users):
    server = SMTPServer(tls_context=server_tls_context(ca, "mail.example.net")).start()
    try:
        app = make_app(MAIL_PORT=server.port, MAIL_USE_TLS=True,
                       OUTBOX_CIRCUIT_BREAKER_PAUSE_SECONDS=30)
        with app.app_context():
            for number in range(5):
                _enqueue(f"user{number}@example.org", number)
            db.session.commit()
        report = drain_once(app, "w1", OUTBOX_SMTP_CONNECTIONS=1)
        assert report["circuit_open"] and report["paused_until"]
        # The run report books the message it tried as paused, not as failed.
        assert (report["paused"], report["failed"], report["retried"]) == (1, 0, 0)
        with app.app_context():
            assert states() == {"pending": 5}
            assert set(db.session.scalars(sa.select(OutboxMessage.attempts))) == {0}
            assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxAttempt)
                                     .where(OutboxAttempt.outcome == "temporary")) == 0
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        client.post("/auth/login", data={"email": "admin@example.org",
                                         "password": factories.PASSWORD})
        banner = client.get("/outbox/counters").get_data(as_text=True)
        assert "certificate failed verification" in banner
        assert "could not be reached" not in banner
    finally:
        server.stop()


def test_a_refused_login_is_a_configuration_error_not_a_retry(make_app, smtp, clock, users):
    from webapp.outbox.sending import configuration_error

    error = smtplib.SMTPAuthenticationError(535, b"5.7.8 Authentication credentials invalid")
    assert "refused the login" in configuration_error(error)
    assert "535" in configuration_error(error)
    assert configuration_error(ConnectionRefusedError()) is None
    # A server that offers no AUTH at all, with credentials configured: the same pause.
    app = make_app(MAIL_USERNAME="missive", MAIL_PASSWORD="secret")
    with app.app_context():
        _enqueue("user@example.org", 1)
        db.session.commit()
    report = drain_once(app, "w1", OUTBOX_SMTP_CONNECTIONS=1)
    assert report["circuit_open"]
    assert (report["paused"], report["failed"], report["sent"]) == (1, 0, 0)
    with app.app_context():
        assert states() == {"pending": 1}
        assert _row("Hello 1").attempts == 0
    assert delivered(smtp) == {}
