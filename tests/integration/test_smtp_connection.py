"""One SMTP connection against the real aiosmtpd server: TLS, EHLO name, the relay's reply."""

import ast
import email
import email.policy
import logging
import smtplib
import ssl
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from tests.smtp_server import SMTPServer, server_tls_context
from webapp.outbox.settings import default_ehlo_name
from webapp.outbox.smtp import Connection, tls_context

MESSAGE = (b"From: no-reply@missive.example.org\r\nTo: camille@example.org\r\n"
           b"Subject: Hello\r\n\r\nFirst line\r\n.A line that starts with a dot\r\n.\r\nEnd\r\n")


@dataclass
class Settings:
    port: int
    server: str = "127.0.0.1"
    use_tls: bool = False
    use_ssl: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 10
    ca_file: str | None = None
    tls_verify: bool = True
    ehlo_name: str | None = "worker.missive.example.org"


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca, tmp_path_factory):
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def tls_server(ca, *names):
    server = SMTPServer(tls_context=server_tls_context(ca, *names)).start()
    return server


@pytest.fixture(scope="module")
def server_for_another_name(ca):
    server = tls_server(ca, "mail.example.net")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def server_for_its_address(ca):
    server = tls_server(ca, "127.0.0.1")
    yield server
    server.stop()


def send(settings, data=MESSAGE, recipients=("camille@example.org",), before_body=None):
    connection = Connection(settings)
    try:
        return connection.send("no-reply@missive.example.org", list(recipients), data,
                               before_body)
    finally:
        connection.close()


@pytest.mark.parametrize("line_end", [b"\r\n", b"\n"])
def test_the_relays_own_reply_is_returned_and_the_content_arrives_intact(smtp, line_end):
    delivery = send(Settings(smtp.port), data=MESSAGE.replace(b"\r\n", line_end))
    [received] = smtp.messages
    assert str(delivery.reply) == received.reply
    assert delivery.reply.code == 250
    assert delivery.reply.text.startswith("2.0.0 Ok: queued as ")
    assert delivery.refused == {}
    # Dot-stuffing undone by the server: the content is what was handed over.
    assert received.data.replace(b"\r\n", b"\n") == MESSAGE.replace(b"\r\n", b"\n")


def test_the_configured_ehlo_name_is_what_the_server_sees(smtp):
    send(Settings(smtp.port, ehlo_name="outbox-1.missive.example.org"))
    assert smtp.handler.ehlo_names == ["outbox-1.missive.example.org"]


def test_the_default_ehlo_name_is_a_dotted_name():
    name = default_ehlo_name("missive.example.org")
    assert "." in name and not name.startswith("[")


def test_starttls_to_a_certificate_for_another_name_is_refused(server_for_another_name, ca_file):
    settings = Settings(server_for_another_name.port, use_tls=True, ca_file=ca_file)
    with pytest.raises(ssl.SSLCertVerificationError, match="match|mismatch"):
        send(settings)
    assert server_for_another_name.messages == []


def test_starttls_to_a_certificate_of_an_unknown_authority_is_refused(server_for_its_address):
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate"):
        send(Settings(server_for_its_address.port, use_tls=True))
    assert server_for_its_address.messages == []


def test_starttls_with_the_ca_file_configured_delivers(server_for_its_address, ca_file):
    server_for_its_address.reset()
    delivery = send(Settings(server_for_its_address.port, use_tls=True, ca_file=ca_file))
    [received] = server_for_its_address.messages
    assert str(delivery.reply) == received.reply


def test_verification_turned_off_delivers_to_any_certificate_and_says_so(
        server_for_another_name, caplog):
    server_for_another_name.reset()
    tls_context.cache_clear()  # the warning comes with the context, made once per process
    with caplog.at_level(logging.WARNING, logger="missive.smtp"):
        delivery = send(Settings(server_for_another_name.port, use_tls=True, tls_verify=False))
    [received] = server_for_another_name.messages
    assert str(delivery.reply) == received.reply
    assert "MAIL_TLS_VERIFY is off" in caplog.text


def test_starttls_to_a_server_that_does_not_offer_it_is_refused(smtp):
    with pytest.raises(smtplib.SMTPNotSupportedError):
        send(Settings(smtp.port, use_tls=True))
    assert smtp.messages == []


def test_a_refused_recipient_leaves_the_connection_usable_for_the_next_message(smtp):
    smtp.handler.rcpt_reply = lambda address: (
        "550 5.1.1 No such user" if address.startswith("nobody") else None)
    connection = Connection(Settings(smtp.port))
    try:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            connection.send("no-reply@missive.example.org", ["nobody@example.org"], MESSAGE)
        assert refused.value.recipients["nobody@example.org"][0] == 550
        delivery = connection.send("no-reply@missive.example.org",
                                   ["nobody@example.org", "camille@example.org"], MESSAGE)
    finally:
        connection.close()
    assert [m.rcpt_tos for m in smtp.messages] == [["camille@example.org"]]
    assert smtp.sessions == 1
    assert delivery.refused["nobody@example.org"].code == 550
    assert delivery.refused["nobody@example.org"].text == "5.1.1 No such user"


def test_a_refusal_of_the_content_is_raised_with_the_relays_words(smtp):
    smtp.handler.data_reply = lambda received: "451 4.3.0 Mailbox busy, try again later"
    with pytest.raises(smtplib.SMTPDataError) as error:
        send(Settings(smtp.port))
    assert (error.value.smtp_code, error.value.smtp_error) == (
        451, b"4.3.0 Mailbox busy, try again later")


def test_before_body_runs_after_the_servers_354_and_an_abandon_delivers_nothing(smtp):
    seen = []

    class Abandoned(Exception):
        pass

    def before_body():
        seen.append(connection.is_open)
        raise Abandoned

    connection = Connection(Settings(smtp.port))
    with pytest.raises(Abandoned):
        connection.send("no-reply@missive.example.org", ["camille@example.org"], MESSAGE,
                        before_body)
    assert seen == [True]
    assert not connection.body_sent and not connection.is_open
    assert smtp.messages == []


def test_a_server_slower_than_the_timeout_raises_instead_of_hanging():
    server = SMTPServer().start()
    server.handler.reply_delay = 0.5
    try:
        with pytest.raises(smtplib.SMTPServerDisconnected, match="timed out"):
            send(Settings(server.port, timeout=0.1))
    finally:
        server.stop()
    assert server.messages == []


# --- PIPELINING (RFC 2920) -----------------------------------------------------------------


def test_with_pipelining_offered_a_message_and_its_refusals_go_through_as_without(smtp):
    smtp.handler.pipelining = True
    smtp.handler.rcpt_reply = lambda address: (
        "550 5.1.1 No such user" if address.startswith("nobody") else None)
    connection = Connection(Settings(smtp.port))
    try:
        first = connection.send("no-reply@missive.example.org",
                                ["camille@example.org", "nobody@example.org"], MESSAGE)
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            connection.send("no-reply@missive.example.org", ["nobody@example.org"], MESSAGE)
        second = connection.send("no-reply@missive.example.org", ["lea@example.org"], MESSAGE)
    finally:
        connection.close()
    assert [m.rcpt_tos for m in smtp.messages] == [["camille@example.org"], ["lea@example.org"]]
    assert [str(first.reply), str(second.reply)] == [m.reply for m in smtp.messages]
    assert first.refused["nobody@example.org"].code == 550
    assert smtp.sessions == 1


@pytest.mark.parametrize("pipelining", [True, False])
def test_recipients_and_data_are_sent_without_waiting_only_when_pipelining_is_offered(
        smtp, pipelining):
    # A refused sender shows it: a pipelining client has already sent RCPT and DATA, which
    # the server answers "need MAIL"; a waiting client sends neither.
    smtp.handler.pipelining = pipelining
    smtp.handler.mail_reply = lambda address: "550 5.7.1 Sender rejected"
    with pytest.raises(smtplib.SMTPSenderRefused) as error:
        send(Settings(smtp.port))
    assert error.value.smtp_code == 550
    need_mail = [reply for reply in smtp.handler.replies if reply.startswith("503")]
    assert len(need_mail) == (2 if pipelining else 0)
    assert smtp.messages == []


def test_the_outbox_uses_no_private_name_of_smtplib_or_of_its_connection():
    # smtplib's private helpers (_rset, _quote_periods...) may change in any Python release.
    package = Path(__file__).resolve().parents[2] / "webapp" / "outbox"
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                    and not node.attr.startswith("__"):
                owner = node.value
                name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
                assert name not in ("smtplib", "host", "smtp"), (path.name, node.attr)


@pytest.mark.parametrize("over", ["plain", "starttls"])
def test_stored_files_stream_intact_in_the_clear_and_over_tls(
        over, smtp, server_for_its_address, ca_file, tmp_path):
    # In the clear the kernel copies a stored file to the socket; over TLS it is read and
    # sent: the relay receives the same bytes either way.
    import io

    from webapp.core import storage
    from webapp.outbox import attachments

    store = storage.FileSystemStorage(tmp_path)
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 1200
    items = [attachments.Attached(store.put(io.BytesIO(pdf)).sha256, "Lettre.pdf",
                                  "application/pdf", len(pdf))]
    streamed = attachments.wrap(MESSAGE.replace(b"\r\n\r\n", b"\r\nContent-Type: text/plain"
                                                b"\r\n\r\n", 1), items, store)
    server = smtp if over == "plain" else server_for_its_address
    settings = (Settings(smtp.port) if over == "plain"
                else Settings(server.port, use_tls=True, ca_file=ca_file))
    before = len(server.messages)
    delivery = send(settings, data=streamed)
    assert delivery.reply.code == 250
    received = server.messages[before]
    assert received.data == bytes(streamed)
    message = email.message_from_bytes(received.data, policy=email.policy.default)
    [attached] = list(message.iter_attachments())
    assert attached.get_payload(decode=True) == pdf
