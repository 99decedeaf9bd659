"""How one message goes out: its bytes (`mime`) over a kept SMTP connection (`smtp`), and what
the relay's answer means for the row. Nothing here touches the database.

Messages are built at send time rather than at enqueue, so the Date header is the sending time
and redirect-all applies. A sent message's attempt keeps the relay's own reply (e.g.
`2.0.0 Ok: queued as 6C804176625` under code 250), the queue id to find it in the relay's log.
"""

import smtplib
import ssl

from webapp.core.addresses import InvalidAddress
from webapp.core.storage import StorageError
from webapp.outbox import attachments, dkim, one_click, verp
from webapp.outbox.mime import build_message
from webapp.outbox.queue import Claimed, Outcome, Result
from webapp.outbox.rows import unrendered
from webapp.outbox.settings import Settings
from webapp.outbox.smtp import Connection, NeedsSMTPUTF8


def configuration_error(error: Exception) -> str | None:
    """What is wrong with the configuration, when `error` says so: the relay's certificate
    failed verification, or the relay refused our credentials. Retrying cannot help; the
    sysadmin must act."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"The relay's TLS certificate failed verification: {error.verify_message}"
    if isinstance(error, ssl.SSLError):
        return f"TLS with the relay failed: {error}"
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return f"The relay refused the login: {error.smtp_code} {_decode(error.smtp_error)}"
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return f"The relay does not offer what the configuration asks: {error}"
    return None


def _decode(text) -> str:
    return text.decode(errors="replace") if isinstance(text, bytes) else str(text)


def _classified(row: Claimed, code: int, text, at_rcpt: bool = False) -> Result:
    outcome = Outcome.PERMANENT if 500 <= code < 600 else Outcome.TEMPORARY
    return Result(row, outcome, code, _decode(text), at_rcpt)


NEVER_RENDERED = ("Not sent: the message was never rendered (it has no body). Retry it to "
                  "render it again with the current template.")


class Abandoned(Exception):
    """The run stopped while a message waited to send its content: it was not sent."""


class SigningFailed(Exception):
    """DKIM signing failed (the key): a configuration error, the message was not sent."""


def _signing_failed(breaker, row: Claimed, error: Exception) -> Result:
    for _ in range(breaker.limit):  # the key: a configuration error, pause at once
        breaker.failure()
    return Result(row, Outcome.CONFIGURATION, None,
                  f"DKIM signing failed: {type(error).__name__}: {error}")


class Sender:
    """One thread's SMTP connection, reused for every message it sends in the batch."""

    def __init__(self, settings: Settings, breaker):
        self.settings = settings
        self.breaker = breaker
        self.connection = Connection(settings)
        self.sessions = 0

    def _connection_failed(self, row: Claimed, error: Exception) -> Result:
        self.connection.abort()
        reason = configuration_error(error)
        if reason is not None:  # pause sending at once, spending no attempt
            for _ in range(self.breaker.limit):
                self.breaker.failure()
            return Result(row, Outcome.CONFIGURATION, None, reason)
        self.breaker.failure()
        return Result(row, Outcome.TEMPORARY, getattr(error, "smtp_code", None),
                      f"{type(error).__name__}: {_decode(getattr(error, 'smtp_error', error))}")

    def send(self, row: Claimed, before_body=None) -> Result:
        """Send one message. `before_body` is called once the server is ready for the
        message's content (after DATA's 354): the message is only delivered if the content
        follows, so the caller may wait there for the previous outcome's commit while the
        envelope's round trips go on."""
        if unrendered(row.body_html, row.body_text):
            return Result(row, Outcome.PERMANENT, None, NEVER_RENDERED)
        settings = self.settings
        extra = None
        if settings.bounce_address:
            reference = verp.reference(row.id, settings.secret_key)
            extra = {verp.REFERENCE_HEADER: reference}
            if row.headers and "List-Unsubscribe" in row.headers:
                extra["List-Unsubscribe"] = (row.headers["List-Unsubscribe"] + ", "
                                             + one_click.mailto(settings.bounce_address,
                                                                  reference))
        try:
            envelope_from, recipients, data = build_message(row, settings,
                                                            extra_headers=extra)
            if row.attachments:
                data = attachments.wrap(data, row.attachments, row.store)
        except InvalidAddress as error:
            return Result(row, Outcome.PERMANENT, None, f"Invalid address: {error}")
        except StorageError as error:  # a frozen attachment is gone: it cannot come back
            return Result(row, Outcome.PERMANENT, None, f"Attachment unavailable: {error}")
        except Exception as error:  # noqa: BLE001 — this message only: the others go on
            return Result(row, Outcome.PERMANENT, None,
                          f"Could not build the message: {type(error).__name__}: {error}")
        finish, extra_size = None, 0
        if settings.dkim_domain and settings.dkim_selector and settings.dkim_private_key_file:
            try:
                key = dkim.load_key(settings.dkim_private_key_file)
            except Exception as error:  # noqa: BLE001 — the key: a configuration error
                return _signing_failed(self.breaker, row, error)
            # Signed while the envelope's replies are on their way (the RSA step releases the
            # GIL): not before the envelope is written, on the message's critical path.
            finish = _signer(settings.dkim_domain, settings.dkim_selector, key)
            extra_size = (dkim.MAX_SIGNATURE_BYTES + len(settings.dkim_domain)
                          + len(settings.dkim_selector))
        envid = ""
        if settings.bounce_address:
            envelope_from = verp.bounce_address(settings.bounce_address, row.id,
                                                settings.secret_key)
            envid = extra[verp.REFERENCE_HEADER]
        if self.settings.suppress:
            return Result(row, Outcome.SUPPRESSED, None, "MAIL_SUPPRESS_SEND: not handed to SMTP")
        for _ in range(2):
            reused = self.connection.is_open
            if not reused:
                try:
                    self.connection.open()
                    self.sessions += 1
                except (OSError, smtplib.SMTPException) as error:  # refused, timeout, TLS
                    return self._connection_failed(row, error)
            try:
                delivery = self.connection.send(envelope_from, recipients, data, before_body,
                                                envid=envid, finish=finish,
                                                extra_size=extra_size)
            except SigningFailed as error:
                return _signing_failed(self.breaker, row, error.__cause__ or error)
            except NeedsSMTPUTF8 as error:
                return Result(row, Outcome.PERMANENT, None, f"Invalid address: {error}")
            except UnicodeError as error:  # the connection was dropped: the next starts clean
                return Result(row, Outcome.PERMANENT, None,
                              f"Could not encode the envelope: {error}")
            except smtplib.SMTPServerDisconnected as error:
                self.connection.abort()
                if reused and not self.connection.body_sent:
                    continue  # the server dropped an idle connection: reconnect once
                return self._connection_failed(row, error)
            except smtplib.SMTPRecipientsRefused as error:
                code, text = next(iter(error.recipients.values()))
                self.breaker.success()
                return _classified(row, code, text, at_rcpt=True)
            except smtplib.SMTPResponseException as error:
                if error.smtp_code == 421:  # the server is closing the connection
                    return self._connection_failed(row, error)
                self.breaker.success()
                return _classified(row, error.smtp_code, error.smtp_error)
            except (OSError, smtplib.SMTPException) as error:  # timeout, reset
                return self._connection_failed(row, error)
            self.breaker.success()
            text = delivery.reply.text
            if delivery.refused:
                text += "; refused: " + ", ".join(
                    f"{address} {reply}" for address, reply in delivery.refused.items())
            return Result(row, Outcome.SENT, delivery.reply.code, text)
        return Result(row, Outcome.TEMPORARY, None, "Disconnected twice")  # pragma: no cover

    def close(self) -> None:
        self.connection.close()


def _signer(domain: str, selector: str, key):
    """The content with its DKIM signature; signed once even if the message is sent again
    on a new connection."""
    signed: dict[bytes, bytes] = {}

    def finish(data: bytes) -> bytes:
        if data not in signed:
            try:
                signed[data] = dkim.signature(data, domain, selector, key) + data
            except Exception as error:
                raise SigningFailed(str(error)) from error
        return signed[data]

    return finish
