"""A real SMTP server for tests and benchmarks: aiosmtpd on 127.0.0.1, able to refuse on demand.

Tests decide answers per recipient with `rcpt_reply` (e.g. return "451 4.3.0 Try again later"
or "550 5.1.1 No such user"); `stop()` / `start()` take the server down and up on the same port.
"""

import asyncio
import email
import email.policy
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller


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
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        with self.lock:
            self.sessions += 1
            session.missive_id = self.sessions
        session.host_name = hostname
        return responses

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
        with self.lock:
            self.messages.append(received)
        if self.close_after_data:
            # Runs once the reply is written: the client gets its 250, then the line drops.
            asyncio.get_running_loop().call_soon(server.transport.close)
        return "250 Message accepted for delivery"


class SMTPServer:
    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.handler = Handler()
        self.controller: Controller | None = None

    def start(self) -> "SMTPServer":
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
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
        self.handler.rcpt_reply = None
        self.handler.data_reply = None
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
