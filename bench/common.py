"""What every figure needs: an app on a throwaway database, and a counting SMTP server.

The SMTP server runs in a process of its own (aiosmtpd from tests/smtp_server.py with a handler
that only counts), so it does not share the GIL with the code being measured: on 2 cores, the
drain and the server each get one.
"""

import contextlib
import multiprocessing
import os
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from tests.databases import drop_database

ROOT = Path(__file__).resolve().parent.parent


def postgres_url() -> str | None:
    """Where the bench may create and drop a throwaway database, if anywhere."""
    return os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("TEST_POSTGRES_URL") or None


# --- the SMTP server, in its own process ---------------------------------------------------


class _CountingHandler:
    """Counts messages and distinct Message-IDs; notes when each recipient's mail arrived."""

    def __init__(self):
        self.count = 0
        self.message_ids: set[bytes] = set()
        self.arrivals: dict[str, float] = {}
        self.reply_delay = 0.0  # read by the test server's delayed push: a relay's round trip
        self.pipelining = False
        self.bulk_data = False  # read by _RelaySMTP: DATA read in blocks, not line by line
        self.received_bytes = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        if self.pipelining:  # as Postfix and most relays do
            responses.insert(-1, "250-PIPELINING")
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        data = envelope.content
        self.received_bytes += len(data)
        start = data.find(b"Message-ID:")
        if start >= 0:
            self.message_ids.add(data[start:data.find(b"\r\n", start)])
        now = time.time()
        for address in envelope.rcpt_tos:
            self.arrivals[address] = now
        return "250 Message accepted for delivery"


def _relay_smtp():
    """aiosmtpd's server (with the test server's reply delay), made cheaper where it spent
    the bench's CPU on its own work rather than on what a relay must do:

    - DATA, when the handler's `bulk_data` is on, is read in blocks of up to 1 MiB and only
      the end of what has arrived is checked for the end marker. aiosmtpd reads DATA one line
      at a time in Python (its reader's limit is one line, 1,001 bytes): about 15 ms of the
      server's CPU for a message of 270 KB (3,500 base64 lines), so on 2 cores a drain of such
      messages measures the bench's relay rather than the worker; a production relay
      (Postfix) reads it in C. The content is the same bytes either way (dot-unstuffed);
      figures that turn it on measure their baseline with it on too.
    - Replies held back by the delay and due together (pipelined MAIL, RCPT, DATA) go out in
      one write, not one write each, as a relay writing its replies to one socket does.
    - A plain `<local@domain>` address is taken as it is; anything else goes through
      aiosmtpd's RFC 5322 parser (`email._header_value_parser`, about a tenth of a
      millisecond per command)."""
    import asyncio

    from tests.smtp_server import _Controller, _DelayedSMTP

    class RelaySMTP(_DelayedSMTP):
        _late: list[bytes] | None = None

        def _write_late(self, line: bytes) -> None:
            if self._late is None:
                self._late = [line]
                asyncio.get_running_loop().call_soon(self._flush_late)
            else:
                self._late.append(line)

        def _flush_late(self) -> None:
            lines, self._late = self._late, None
            super()._write_late(b"".join(lines))

        def _getaddr(self, arg: str):
            text = arg.lstrip()
            end = text.find(">")
            inside = text[1:end]
            if (text[:1] == "<" and end > 1 and "@" in inside
                    and not any(c in inside for c in ' "\\<(),;:[]')
                    and not self.local_part_limit):
                return inside, text[end + 1:]
            return super()._getaddr(arg)

        async def smtp_DATA(self, arg: str) -> None:
            if (not getattr(self.event_handler, "bulk_data", False) or arg
                    or self.envelope is None or not self.envelope.rcpt_tos
                    or await self.check_helo_needed()):
                await super().smtp_DATA(arg)
                return
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            blocks: list[bytes] = []
            tail = b""
            # The reader pauses the socket once it holds twice its limit (one line): for the
            # content, as much as it sends, then back to one line for the commands.
            limit, self._reader._limit = self._reader._limit, 1 << 20
            try:
                block = b"-"
                while block:
                    block = await self._reader.read(1 << 20)
                    blocks.append(block)
                    # The client waits for the reply after the end marker: it ends what has
                    # arrived (CRLF . CRLF: the content ends with CRLF), maybe across blocks.
                    tail = (tail + block[-5:])[-5:]
                    if tail == b"\r\n.\r\n" or (len(blocks) == 1 and block == b".\r\n"):
                        break
            finally:
                self._reader._limit = limit
            if not block:  # the client has gone
                self._set_post_data_state()
                return
            content = (blocks[0] if len(blocks) == 1 else b"".join(blocks))[:-3]
            if b"\r\n.." in content:  # a search: no copy of the message when not found
                content = content.replace(b"\r\n..", b"\r\n.")
            if content.startswith(b".."):
                content = content[1:]
            self.envelope.content = self.envelope.original_content = content
            status = await self._call_handler_hook("DATA")
            self._set_post_data_state()
            await self.push(status)

    class RelayController(_Controller):
        def factory(self):
            return RelaySMTP(self.handler, **self.SMTP_kwargs)

    return RelayController


def _serve(connection) -> None:
    from tests.smtp_server import SMTPServer

    server = SMTPServer()
    server.handler = _CountingHandler()
    server.controller = _relay_smtp()(server.handler, hostname="127.0.0.1", port=server.port)
    server.controller.start()
    connection.send(server.port)
    handler = server.handler
    while True:
        command = connection.recv()
        if command == "count":
            connection.send((handler.count, len(handler.message_ids)))
        elif command == "arrivals":
            connection.send(dict(handler.arrivals))
        elif command.startswith("relay:"):
            _, delay, pipelining = command.split(":")
            handler.reply_delay, handler.pipelining = float(delay), pipelining == "1"
            connection.send(True)
        elif command == "cpu":
            connection.send(time.process_time())
        elif command == "bytes":
            connection.send(handler.received_bytes)
        elif command.startswith("bulk-data:"):
            handler.bulk_data = command.endswith(":1")
            connection.send(True)
        elif command == "reset":
            handler.count, handler.message_ids, handler.arrivals = 0, set(), {}
            handler.received_bytes = 0
            connection.send(True)
        else:
            server.stop()
            connection.send(True)
            return


class CountingServer:
    """A real aiosmtpd server on 127.0.0.1 in a child process."""

    def __enter__(self) -> "CountingServer":
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child,), daemon=True)
        self._process.start()
        self.port: int = self._conn.recv()
        return self

    def _ask(self, command: str):
        self._conn.send(command)
        return self._conn.recv()

    def count(self) -> int:
        return self._ask("count")[0]

    def distinct(self) -> int:
        return self._ask("count")[1]

    def arrivals(self) -> dict[str, float]:
        return self._ask("arrivals")

    def reset(self) -> None:
        self._ask("reset")

    def relay(self, delay: float, pipelining: bool) -> None:
        """Answer each command `delay` seconds late, as a relay a round trip away does."""
        self._ask(f"relay:{delay}:{int(pipelining)}")

    def bulk_data(self, on: bool) -> None:
        """Read DATA in blocks (see _relay_smtp), for both sides of a figure's ratio."""
        self._ask(f"bulk-data:{int(on)}")

    def cpu_seconds(self) -> float:
        """The server process's CPU time so far (all its threads)."""
        return self._ask("cpu")

    def received_bytes(self) -> int:
        """The content received since the last reset, in bytes."""
        return self._ask("bytes")

    def expect(self, n: int, what: str) -> None:
        """The server must have received exactly `n` messages, all different."""
        count, distinct = self._ask("count")
        if count != n or distinct != n:
            raise AssertionError(f"{what}: the SMTP server received {count} messages "
                                 f"({distinct} distinct Message-IDs), expected {n}")

    def __exit__(self, *exc) -> None:
        with contextlib.suppress(OSError, EOFError):
            self._ask("stop")
        self._process.join(5)


# --- databases and apps --------------------------------------------------------------------


@contextlib.contextmanager
def throwaway_database(backend: str, folder: Path):
    """A new empty database with the schema: a SQLite file, or a PostgreSQL database created
    on the server of postgres_url() and dropped afterwards."""
    from webapp.models import Base

    if backend == "sqlite":
        url = f"sqlite:///{folder / f'bench-{uuid.uuid4().hex[:8]}.db'}"
        engine = sa.create_engine(url)
        Base.metadata.create_all(engine)
        engine.dispose()
        yield url
        return
    name = f"missive_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(postgres_url()).set(database=name)
    engine = sa.create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        drop_database(admin, name)
        admin.dispose()


def make_app(url: str, smtp_port: int, **config):
    """The app as the worker and the web see it, on `url`, sending to the bench's server."""
    from webapp import create_app
    from webapp.extensions import db
    from webapp.services.statuses import ensure_default_statuses

    os.environ.setdefault("MISSIVE_INSTANCE_PATH", tempfile.mkdtemp(prefix="missive-bench-"))
    app = create_app({
        "TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_port,
        "MAIL_SUPPRESS_SEND": False, "MAIL_TIMEOUT_SECONDS": 30,
        "BASE_URL": "http://missive.test", **config,
    })
    with app.app_context():
        ensure_default_statuses()
        db.session.commit()
    return app


def worker_env(url: str, smtp_port: int, **settings) -> dict:
    """Environment of a `flask --app wsgi ...` subprocess on the bench's database and server."""
    env = {**os.environ, "MISSIVE_INSTANCE_PATH": tempfile.mkdtemp(prefix="missive-worker-"),
           "FLASK_SECRET_KEY": "bench", "FLASK_SQLALCHEMY_DATABASE_URI": url,
           "FLASK_MAIL_SERVER": "127.0.0.1", "FLASK_MAIL_PORT": str(smtp_port),
           "FLASK_MAIL_SUPPRESS_SEND": "false"}
    env.update({f"FLASK_{name}": str(value) for name, value in settings.items()})
    for name in ("FLASK_EMBEDDED_WORKER", "FLASK_DEV_MAIL_CATCHER"):
        env.pop(name, None)
    return env


def signed_in(app, user_id: int):
    """A test client signed in as `user_id` the way the sign-in form leaves it: a server-side
    session and its token in the cookie (posting the form would time password hashing)."""
    from webapp.extensions import db
    from webapp.models import User
    from webapp.services import sessions
    from webapp.web import session_cookie

    with app.app_context():
        token = sessions.start(db.session.get(User, user_id))
        db.session.commit()
    client = app.test_client()
    with client.session_transaction() as session:
        session[session_cookie.SESSION_TOKEN_KEY] = token
        session["_user_id"] = str(user_id)
        session["_fresh"] = True
    return client
