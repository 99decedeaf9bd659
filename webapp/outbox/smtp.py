"""One SMTP connection to the relay, and one message exchange on it.

Only smtplib's public API: `mail`, `rcpt`, `putcmd("data")` + `getreply`, `smtplib.quotedata`,
`send`, `docmd("RSET")`, `quit`. `smtplib.SMTP.sendmail` is split where the server has said
354 and waits for the content, so the caller may wait there (`before_body`) without the
message being delivered; and the relay's own reply to the content (for example `250 2.0.0 Ok:
queued as 6C804176625`) is returned, for the attempt to keep the relay's queue id.

When the relay offers PIPELINING (RFC 2920), MAIL, every RCPT and DATA go in one write: one
round trip instead of three or more (measured with `python -m bench.wire`, one connection to a
server answering 5 ms late: 44 -> 86 messages/s).

TLS (STARTTLS, or implicit TLS on connect) verifies the relay's certificate and host name
against the system's CAs or `MAIL_CA_FILE`; only `MAIL_TLS_VERIFY = False` turns that off.
"""

import functools
import logging
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger("missive.smtp")


class ConnectionSettings(Protocol):
    server: str
    port: int
    use_tls: bool  # STARTTLS after connecting
    use_ssl: bool  # TLS from the first byte (port 465)
    username: str | None
    password: str | None
    timeout: float
    ca_file: str | None
    tls_verify: bool
    ehlo_name: str | None  # None: smtplib's choice (socket.getfqdn())


class NeedsSMTPUTF8(ValueError):
    """An address with a non-ASCII local part, for a relay that does not offer SMTPUTF8."""

    def __init__(self, address: str):
        self.address = address
        super().__init__(f"{address!r} needs SMTPUTF8, which the relay does not offer")


@dataclass(frozen=True)
class Reply:
    """An SMTP reply: its code and its text (without the code, lines joined by newlines)."""

    code: int
    text: str

    def __str__(self) -> str:
        return f"{self.code} {self.text}"


@dataclass(frozen=True)
class Delivery:
    """What the relay said to an accepted message."""

    reply: Reply
    refused: dict[str, Reply]  # recipients refused while others were accepted


def _text(raw) -> str:
    return raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)


@functools.cache
def tls_context(ca_file: str | None, verify: bool = True) -> ssl.SSLContext:
    """The client context: certificate and host name checked unless `verify` is False."""
    context = ssl.create_default_context(cafile=ca_file or None)
    if not verify:
        log.warning("MAIL_TLS_VERIFY is off: the SMTP relay's certificate and host name are "
                    "not checked, anyone on the network path can read or change the mail")
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _content(data: bytes) -> bytes:
    """The content as DATA sends it: CRLF lines, dot-stuffed (`smtplib.quotedata`), ended by a
    lone dot. The builder's bytes need no change; checking that costs a fifth of quoting."""
    crlf = data.count(b"\r\n")
    if data[:1] == b"." or b"\n." in data or not data.count(b"\n") == crlf == data.count(b"\r"):
        # surrogateescape carries any byte through quotedata's str API
        data = smtplib.quotedata(data.decode("ascii", "surrogateescape")).encode(
            "ascii", "surrogateescape")
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _send_file(host: smtplib.SMTP, file) -> None:
    """`file` to the relay, as SMTP.send would send its bytes (a failed write closes the
    connection and says so the same way); `socket.sendfile` copies it in the kernel where it
    can (not over TLS: there it reads and sends)."""
    if host.sock is None:
        raise smtplib.SMTPServerDisconnected("please run connect() first")
    try:
        host.sock.sendfile(file)
    except OSError:
        host.close()
        raise smtplib.SMTPServerDisconnected("Server not connected") from None


class Connection:
    """One SMTP session with the relay, opened on first use and kept for the next messages."""

    def __init__(self, settings: ConnectionSettings):
        self.settings = settings
        self.host: smtplib.SMTP | None = None
        self.body_sent = False  # whether the last exchange sent its content

    @property
    def is_open(self) -> bool:
        return self.host is not None

    def open(self) -> None:
        """Connect (with the socket timeout: a stalled relay never hangs the worker), say EHLO,
        start TLS and log in as configured."""
        s = self.settings
        kwargs = {"local_hostname": s.ehlo_name or None, "timeout": s.timeout}
        if s.use_ssl:
            host = smtplib.SMTP_SSL(s.server, s.port, context=self._context(), **kwargs)
        else:
            host = smtplib.SMTP(s.server, s.port, **kwargs)
        try:
            host.ehlo()
            if s.use_tls:
                host.starttls(context=self._context())
                host.ehlo()  # the capabilities said before TLS no longer hold
            if s.username and s.password:
                host.login(s.username, s.password)
        except BaseException:
            host.close()
            raise
        self.host = host

    def _context(self) -> ssl.SSLContext:
        return tls_context(self.settings.ca_file, self.settings.tls_verify is not False)

    def send(self, sender: str, recipients: list[str], data,
             before_body: Callable[[], None] | None = None, envid: str = "",
             finish: Callable[[bytes], bytes] | None = None, extra_size: int = 0) -> Delivery:
        """Hand one message to the relay; raise smtplib's exceptions as `sendmail` does.
        `data`: the message's bytes, or an object with `head` bytes and `tail()` pieces
        needing no dot-stuffing (bytes, or open files), written as they come (and `len()`,
        for SIZE).

        `before_body` is called once the relay is ready for the content (after DATA's 354):
        the message is delivered only if the content follows, so the caller may wait there.
        If it raises, the connection is closed (the transaction ends without content:
        nothing is delivered) and the exception propagates.

        `finish(data)` gives the content to send (a DKIM signature added): it runs while the
        envelope's replies are on their way, not before the envelope is written; `extra_size`
        is at most what it adds (SIZE is declared before). If it raises, the connection is
        closed and the exception propagates."""
        if self.host is None:
            self.open()
        host = self.host
        self.body_sent = False
        mail_options, rcpt_options = self._options(sender, recipients,
                                                   len(data) + extra_size, envid)
        content = [data]

        def finishing() -> None:
            if finish is not None:
                content[0] = finish(data if isinstance(data, bytes) else bytes(data))

        try:
            if host.has_extn("pipelining"):
                refused = self._envelope_pipelined(sender, recipients, mail_options,
                                                   rcpt_options, finishing)
            else:
                refused = self._envelope(sender, recipients, mail_options, rcpt_options,
                                         finishing)
        except (OSError, smtplib.SMTPException):
            raise
        except Exception:
            # Not the relay's doing (an address that cannot be encoded, a bug): whatever was
            # said of this transaction is undone, so the next message starts clean.
            self.abort()
            raise
        finally:
            host.command_encoding = "ascii"
        if before_body is not None:
            try:
                before_body()
            except BaseException:
                self.abort()
                raise
        self.body_sent = True
        body = content[0]
        if isinstance(body, bytes):
            host.send(_content(body))
        else:  # a message streamed in pieces (attachments.Streamed): only its head may need
            # dot-stuffing; the lone dot after the rest. Bytes between files go out as one
            # write: a small write behind data not yet acknowledged would wait for the ACK.
            pending = [_content(body.head)[:-3]]
            for piece in body.tail():
                if isinstance(piece, bytes):
                    pending.append(piece)
                else:  # a stored file, copied by the kernel on a plain connection
                    host.send(b"".join(pending))
                    pending = []
                    _send_file(host, piece)
            pending.append(b".\r\n")
            host.send(b"".join(pending))
        code, raw = host.getreply()
        if code != 250:
            self._refused(code, raw, smtplib.SMTPDataError)
        return Delivery(Reply(code, _text(raw)),
                        {address: Reply(c, _text(r)) for address, (c, r) in refused.items()})

    def _options(self, sender: str, recipients: list[str], size: int,
                 envid: str) -> tuple[list[str], list[str]]:
        """MAIL and RCPT parameters: SIZE; SMTPUTF8 when an address needs it (refused before
        a word is said when the relay does not offer it); DSN on failure, headers only, with
        the row's reference (RFC 3461) when the relay offers DSN."""
        host = self.host
        mail_options = [f"SIZE={size}"] if host.has_extn("size") else []
        rcpt_options: list[str] = []
        if not sender.isascii() or not all(address.isascii() for address in recipients):
            if not host.has_extn("smtputf8"):
                raise NeedsSMTPUTF8(next(a for a in [sender, *recipients] if not a.isascii()))
            mail_options.append("SMTPUTF8")
            host.command_encoding = "utf-8"
        if envid and host.has_extn("dsn"):
            mail_options += ["RET=HDRS", f"ENVID={envid}"]
            rcpt_options.append("NOTIFY=FAILURE")
        return mail_options, rcpt_options

    def _envelope(self, sender: str, recipients: list[str], mail_options: list[str],
                  rcpt_options: list[str], finishing: Callable[[], None]) -> dict:
        """MAIL, RCPT and DATA one at a time, each waiting for its reply: the relay's 354 ends
        it; `finishing` runs while DATA's reply is on its way. Returns the recipients refused
        while others were accepted."""
        host = self.host
        code, raw = host.mail(sender, mail_options)
        if code != 250:
            self._refused(code, raw, smtplib.SMTPSenderRefused, sender)
        refused = {}
        for recipient in recipients:
            code, raw = host.rcpt(recipient, rcpt_options)
            if code not in (250, 251):
                refused[recipient] = (code, raw)
            if code == 421:
                self.abort()
                raise smtplib.SMTPRecipientsRefused(refused)
        if len(refused) == len(recipients):
            self.reset()
            raise smtplib.SMTPRecipientsRefused(refused)
        host.putcmd("data")
        finishing()
        code, raw = host.getreply()
        if code != 354:
            self._refused(code, raw, smtplib.SMTPDataError)
        return refused

    def _envelope_pipelined(self, sender: str, recipients: list[str], mail_options: list[str],
                            rcpt_options: list[str], finishing: Callable[[], None]) -> dict:
        """RFC 2920: MAIL, every RCPT and DATA in one write, then their replies: one round trip
        instead of two plus one per recipient. `finishing` runs during that round trip."""
        host = self.host
        mail = "".join(" " + option for option in mail_options)
        rcpt = "".join(" " + option for option in rcpt_options)
        commands = [f"MAIL FROM:{smtplib.quoteaddr(sender)}{mail}",
                    *(f"RCPT TO:{smtplib.quoteaddr(address)}{rcpt}" for address in recipients),
                    "DATA"]
        # Encoded as a whole before anything is written: an address that cannot be is refused
        # with nothing said.
        host.send(("\r\n".join(commands) + "\r\n").encode(host.command_encoding))
        finishing()
        mail = host.getreply()
        rcpts = [host.getreply() for _ in recipients]
        data = host.getreply()
        refused = {address: reply for address, reply in zip(recipients, rcpts, strict=True)
                   if reply[0] not in (250, 251)}
        closing = 421 in (mail[0], data[0], *(code for code, _ in rcpts))
        failed = mail[0] != 250 or len(refused) == len(recipients) or data[0] != 354
        if data[0] == 354 and failed and not closing:
            # A relay that said 354 with nobody to deliver to: end that empty transaction.
            host.send(".\r\n")
            host.getreply()
        if closing:
            self.abort()
        elif failed:
            self.reset()
        if mail[0] != 250:
            raise smtplib.SMTPSenderRefused(mail[0], mail[1], sender)
        if len(refused) == len(recipients) or (closing and refused):
            raise smtplib.SMTPRecipientsRefused(refused)
        if data[0] != 354 or closing:
            raise smtplib.SMTPDataError(*data)
        return refused

    def _refused(self, code: int, raw: bytes, error: type, *args) -> None:
        if code == 421:  # the relay is closing the connection
            self.abort()
        else:
            self.reset()
        raise error(code, raw, *args)

    def reset(self) -> None:
        """End the transaction (RSET), keeping the connection for the next message."""
        try:
            self.host.docmd("RSET")
        except (OSError, smtplib.SMTPException):
            self.abort()

    def abort(self) -> None:
        """Drop the connection without a word (no QUIT)."""
        if self.host is not None:
            self.host.close()
            self.host = None

    def close(self) -> None:
        """QUIT politely; drop the line if the relay does not answer."""
        if self.host is None:
            return
        try:
            self.host.quit()
        except (OSError, smtplib.SMTPException):
            self.host.close()
        self.host = None
