"""A real SMTP server for tests and benchmarks: aiosmtpd on 127.0.0.1, able to refuse on demand.

Tests decide answers per recipient with `rcpt_reply` (e.g. return "451 4.3.0 Try again later"
or "550 5.1.1 No such user"); `stop()` / `start()` take the server down and up on the same port.
Accepted messages get a reply like a relay's, with a queue id of their own (`Received.reply`).
`SMTPServer(tls_context=...)` offers STARTTLS (`server_tls_context` makes one from a test CA);
`reply_delay` holds every reply back, as a relay a round trip away does; `pipelining` offers
RFC 2920 and `replies` lists every reply line sent.
"""

import asyncio
import email
import email.policy
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    session_id: int
    reply: str = ""  # what the server answered to the content

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)

    def __getitem__(self, header: str):
        return self.message[header]


@dataclass
class Handler:
    messages: list[Received] = field(default_factory=list)
    sessions: int = 0
    rcpt_reply: Callable[[str], str | None] | None = None
    # Hang up right after accepting each message, as servers that close idle connections do.
    close_after_data: bool = False
    data_reply: Callable[[Received], str | None] | None = None
    # A message for which this returns an event gets its reply once the event is set: that
    # one connection hangs, the others go on.
    hold_reply: Callable[[Received], threading.Event | None] | None = None
    mail_reply: Callable[[str], str | None] | None = None
    reply_delay: float = 0.0  # seconds before each reply
    pipelining: bool = False  # offer PIPELINING (RFC 2920) in the EHLO reply
    smtputf8: bool = True  # offer SMTPUTF8 (RFC 6531), as aiosmtpd does
    dsn: bool = False  # offer DSN (RFC 3461) and keep its parameters in `dsn_options`
    dsn_options: list[list[str]] = field(default_factory=list)
    ehlo_names: list[str] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)  # every reply line, in order
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        with self.lock:
            if not hasattr(session, "missive_id"):  # a second EHLO after STARTTLS: same session
                self.sessions += 1
                session.missive_id = self.sessions
            self.ehlo_names.append(hostname)
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        if not self.smtputf8 and "250-SMTPUTF8" in responses:
            responses.remove("250-SMTPUTF8")
        if self.dsn:
            responses.insert(-1, "250-DSN")
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        reply = self.mail_reply(address) if self.mail_reply else None
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.rcpt_reply(address) if self.rcpt_reply else None
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        received = Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content,
                            getattr(session, "missive_id", 0))
        reply = self.data_reply(received) if self.data_reply else None
        if reply:
            return reply
        held = self.hold_reply(received) if self.hold_reply else None
        while held is not None and not held.is_set():
            await asyncio.sleep(0.05)
        with self.lock:
            self.messages.append(received)
            received.reply = f"250 2.0.0 Ok: queued as {0x6C804176600 + len(self.messages):X}"
        if self.close_after_data:
            # Runs once the reply is written: the client gets its 250, then the line drops.
            asyncio.get_running_loop().call_soon(server.transport.close)
        return received.reply


class _DelayedSMTP(SMTP):
    """aiosmtpd's server, with the Handler's reply log and delay (other handlers have none).

    The delay is the network's, not the server's: each reply leaves `reply_delay` after it was
    due while the server goes on reading, so pipelined commands overlap as they would with a
    relay a round trip away. (Not with STARTTLS: the delayed 220 would cross the handshake.)"""

    async def push(self, status):
        replies = getattr(self.event_handler, "replies", None)
        if replies is not None:
            replies.append(status)
        delay = getattr(self.event_handler, "reply_delay", 0)
        if not delay:
            await super().push(status)
            return
        line = (status.encode() if isinstance(status, str) else status) + b"\r\n"
        asyncio.get_running_loop().call_later(delay, self._write_late, line)

    def _getparams(self, params):
        """With `dsn` on, RFC 3461's parameters are accepted and kept (upper-cased, as
        aiosmtpd reads them), the others go on to aiosmtpd's own checks."""
        found = super()._getparams(params)
        handler = self.event_handler
        if found is not None and getattr(handler, "dsn", False):
            options = [f"{key}={found.pop(key)}" for key in ("RET", "ENVID", "NOTIFY", "ORCPT")
                       if key in found]
            if options:
                handler.dsn_options.append(options)
        return found

    def _write_late(self, line: bytes) -> None:
        transport = self.transport  # None once the client has gone
        if transport is not None and not transport.is_closing():
            transport.write(line)


class _Controller(Controller):
    def factory(self):
        return _DelayedSMTP(self.handler, **self.SMTP_kwargs)


def server_tls_context(ca, *names: str) -> ssl.SSLContext:
    """A server context with a certificate for `names`, issued by `ca` (a trustme.CA)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


class SMTPServer:
    def __init__(self, port: int | None = None, tls_context: ssl.SSLContext | None = None):
        self.port = port or free_port()
        self.handler = Handler()
        self.tls_context = tls_context
        self.controller: Controller | None = None

    def start(self) -> "SMTPServer":
        options = {"tls_context": self.tls_context} if self.tls_context else {}
        self.controller = _Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                      **options)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller:
            self.controller.stop()
            self.controller = None

    def reset(self) -> None:
        with self.handler.lock:
            self.handler.messages.clear()
            self.handler.sessions = 0
            self.handler.ehlo_names.clear()
            self.handler.replies.clear()
        self.handler.reply_delay = 0.0
        self.handler.pipelining = False
        self.handler.smtputf8 = True
        self.handler.dsn = False
        self.handler.dsn_options.clear()
        self.handler.mail_reply = None
        self.handler.rcpt_reply = None
        self.handler.data_reply = None
        self.handler.hold_reply = None
        self.handler.close_after_data = False

    @property
    def messages(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.messages)

    @property
    def sessions(self) -> int:
        return self.handler.sessions

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.rcpt_tos]
