"""How one message goes out: its bytes (MIME) and the SMTP exchange over a kept connection.

Messages are serialised by a lean builder for the one shape the outbox sends (UTF-8 text + HTML
as multipart/alternative, RFC 2047 headers): it costs a small fraction of the SMTP exchange,
where email.message.EmailMessage costs more than the exchange itself. Messages are built at send
time rather than at enqueue, so the Date header is the sending time and redirect-all applies.

The connection is Flask-Mail's (its MAIL_* settings), with a socket timeout. Nothing here
touches the database.
"""

import base64
import functools
import smtplib
import time
from email.utils import formataddr, formatdate, parseaddr

import flask_mail

from webapp.core.addresses import InvalidAddress
from webapp.outbox.queue import Claimed, Outcome, Result
from webapp.outbox.settings import Settings

_WORD_BYTES = 45  # 45 bytes of UTF-8 -> 60 base64 characters: an encoded word within 75


def encode_header(value: str) -> str:
    """RFC 2047: non-ASCII header text as UTF-8 base64 encoded words, folded."""
    if value.isascii():
        return value
    raw = value.encode()
    words, start = [], 0
    while start < len(raw):
        end = min(start + _WORD_BYTES, len(raw))
        while end < len(raw) and (raw[end] & 0xC0) == 0x80:  # never split a character
            end -= 1
        words.append(f"=?utf-8?b?{base64.b64encode(raw[start:end]).decode()}?=")
        start = end
    return "\r\n ".join(words)


def format_address(name: str, address: str) -> str:
    if not name:
        return address
    if name.isascii():
        return formataddr((name, address))
    return f"{encode_header(name)} <{address}>"


def _body_part(subtype: str, text: str) -> bytes:
    body = base64.encodebytes(text.encode()).replace(b"\n", b"\r\n")
    return (f"Content-Type: text/{subtype}; charset=\"utf-8\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n").encode() + body


def _addresses(text: str) -> list[str]:
    """The addresses of a stored list. They were validated at enqueue; this only refuses what
    would break the SMTP envelope (the full check costs more than the SMTP exchange)."""
    found = []
    for part in text.replace(";", ",").split(","):
        address = part.strip()
        if not address:
            continue
        if "@" not in address or any(c in address for c in " <>\r\n\t"):
            raise InvalidAddress(address)
        found.append(address)
    return found


@functools.lru_cache(maxsize=64)
def _parsed_sender(sender: str) -> tuple[str, str]:
    """Nearly every row has the configured sender: parse it once, not per message."""
    return parseaddr(sender)


def build_message(row: Claimed, settings: Settings) -> tuple[str, list[str], bytes]:
    """Envelope sender, envelope recipients and the message's bytes."""
    sender_name, sender_addr = _parsed_sender(row.sender or settings.default_sender)
    if not sender_addr:
        raise InvalidAddress(row.sender or settings.default_sender)
    to = _addresses(row.to_addr)
    cc = _addresses(row.cc) if row.cc else []
    bcc = _addresses(row.bcc) if row.bcc else []
    if not to:
        raise InvalidAddress(row.to_addr)
    headers = [
        ("Message-ID", row.message_id),
        ("Date", formatdate(usegmt=True)),
        ("From", format_address(sender_name, sender_addr)),
        ("To", format_address(row.to_name, to[0]) if len(to) == 1 else ", ".join(to)),
    ]
    recipients = to + cc + bcc
    if settings.redirect_all_to:
        # Staging: nobody real gets mail; the original recipients stay readable in a header.
        headers[3] = ("To", settings.redirect_all_to)
        headers.append(("X-Missive-Original-Recipients", ", ".join(recipients)))
        recipients = [settings.redirect_all_to]
    elif cc:
        headers.append(("Cc", ", ".join(cc)))
    if row.reply_to:
        headers.append(("Reply-To", row.reply_to))
    headers.append(("Subject", encode_header(row.subject)))
    headers.append(("MIME-Version", "1.0"))
    for name, value in (row.headers or {}).items():
        headers.append((name, encode_header(str(value).replace("\r", " ").replace("\n", " "))))

    parts = []
    if row.body_text:
        parts.append(_body_part("plain", row.body_text))
    if row.body_html or not parts:
        parts.append(_body_part("html", row.body_html))
    head = "".join(f"{name}: {value}\r\n" for name, value in headers).encode()
    if len(parts) == 1:
        return sender_addr, recipients, head + parts[0]
    boundary = f"=_missive_{row.id}_{time.monotonic_ns():x}"
    body = b"".join(f"--{boundary}\r\n".encode() + part for part in parts)
    data = (head + f"Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n"
            .encode() + body + f"--{boundary}--\r\n".encode())
    return sender_addr, recipients, data


# --- One SMTP connection -------------------------------------------------------------------


class TimedConnection(flask_mail.Connection):
    """Flask-Mail's connection, with the socket timeout Flask-Mail does not set: a stalled
    server would otherwise hang the worker forever."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)  # Flask-Mail reads server, port, tls... from this object
        self.settings = settings

    def configure_host(self) -> smtplib.SMTP:
        s = self.settings
        smtp_class = smtplib.SMTP_SSL if s.use_ssl else smtplib.SMTP
        host = smtp_class(s.server, s.port, timeout=s.timeout)
        if s.use_tls:
            host.starttls()
        if s.username and s.password:
            host.login(s.username, s.password)
        return host

    def close(self) -> None:
        if self.host is None:
            return
        try:
            self.host.quit()
        except (OSError, smtplib.SMTPException):
            self.host.close()
        self.host = None


def _decode(text) -> str:
    return text.decode(errors="replace") if isinstance(text, bytes) else str(text)


def _classified(row: Claimed, code: int, text) -> Result:
    outcome = Outcome.PERMANENT if 500 <= code < 600 else Outcome.TEMPORARY
    return Result(row, outcome, code, _decode(text))


class Abandoned(Exception):
    """The run stopped while a message waited to send its content: it was not sent."""


class _Exchange:
    """smtplib's sendmail, split where the server has said 354 and waits for the content."""

    def __init__(self, host: smtplib.SMTP, before_body):
        self.host = host
        self.before_body = before_body
        self.body_sent = False

    def _fail(self, code: int, reply: bytes, error: type, *args):
        if code == 421:
            self.host.close()
        else:
            self.host._rset()
        raise error(code, reply, *args)

    def sendmail(self, sender: str, recipients: list[str], data: bytes) -> dict:
        host = self.host
        host.ehlo_or_helo_if_needed()
        options = [f"size={len(data)}"] if host.does_esmtp and host.has_extn("size") else []
        code, reply = host.mail(sender, options)
        if code != 250:
            self._fail(code, reply, smtplib.SMTPSenderRefused, sender)
        refused = {}
        for recipient in recipients:
            code, reply = host.rcpt(recipient)
            if code not in (250, 251):
                refused[recipient] = (code, reply)
            if code == 421:
                host.close()
                raise smtplib.SMTPRecipientsRefused(refused)
        if len(refused) == len(recipients):
            host._rset()
            raise smtplib.SMTPRecipientsRefused(refused)
        host.putcmd("data")
        code, reply = host.getreply()
        if code != 354:
            self._fail(code, reply, smtplib.SMTPDataError)
        if self.before_body:
            try:
                self.before_body()
            except Abandoned:
                host.close()  # the transaction ends without content: nothing is delivered
                raise
        content = smtplib._quote_periods(data)
        if content[-2:] != b"\r\n":
            content += b"\r\n"
        self.body_sent = True
        host.send(content + b".\r\n")
        code, reply = host.getreply()
        if code != 250:
            self._fail(code, reply, smtplib.SMTPDataError)
        return refused


class Sender:
    """One thread's SMTP connection, reused for every message it sends in the batch."""

    def __init__(self, settings: Settings, breaker):
        self.settings = settings
        self.breaker = breaker
        self.connection = TimedConnection(settings)
        self.sessions = 0

    def _connection_failed(self, row: Claimed, error: Exception) -> Result:
        self.connection.close()
        self.breaker.failure()
        return Result(row, Outcome.TEMPORARY, getattr(error, "smtp_code", None),
                      f"{type(error).__name__}: {_decode(getattr(error, 'smtp_error', error))}")

    def send(self, row: Claimed, before_body=None) -> Result:
        """Send one message. `before_body` is called once the server is ready for the
        message's content (after DATA's 354): the message is only delivered if the content
        follows, so the caller may wait there for the previous outcome's commit while the
        envelope's round trips go on."""
        try:
            envelope_from, recipients, data = build_message(row, self.settings)
        except InvalidAddress as error:
            return Result(row, Outcome.PERMANENT, None, f"Invalid address: {error}")
        if self.settings.suppress:
            return Result(row, Outcome.SUPPRESSED, None, "MAIL_SUPPRESS_SEND: not handed to SMTP")
        for _ in range(2):
            reused = self.connection.host is not None
            if not reused:
                try:
                    self.connection.host = self.connection.configure_host()
                    self.sessions += 1
                except (OSError, smtplib.SMTPException) as error:
                    return self._connection_failed(row, error)
            exchange = _Exchange(self.connection.host, before_body)
            try:
                refused = exchange.sendmail(envelope_from, recipients, data)
            except smtplib.SMTPServerDisconnected as error:
                self.connection.close()
                if reused and not exchange.body_sent:
                    continue  # the server dropped an idle connection: reconnect once
                return self._connection_failed(row, error)
            except smtplib.SMTPRecipientsRefused as error:
                code, text = next(iter(error.recipients.values()))
                self.breaker.success()
                return _classified(row, code, text)
            except smtplib.SMTPResponseException as error:
                if error.smtp_code == 421:  # the server is closing the connection
                    return self._connection_failed(row, error)
                self.breaker.success()
                return _classified(row, error.smtp_code, error.smtp_error)
            except (OSError, smtplib.SMTPException) as error:  # timeout, reset
                return self._connection_failed(row, error)
            self.breaker.success()
            text = "250 accepted"
            if refused:
                text += "; refused: " + ", ".join(
                    f"{addr} {code} {_decode(msg)}" for addr, (code, msg) in refused.items())
            return Result(row, Outcome.SENT, 250, text)
        return Result(row, Outcome.TEMPORARY, None, "Disconnected twice")  # pragma: no cover

    def close(self) -> None:
        self.connection.close()
