"""How outbox rows reach the SMTP server: the drain.

A run claims batches of due rows and sends them over `OUTBOX_SMTP_CONNECTIONS` SMTP connections
opened through Flask-Mail (one per sending thread, kept for the whole run, so never more than
one per batch). Outcomes go back to the calling thread, which commits whatever has arrived as
one group. A message's content goes out only when fewer than OUTBOX_UNRECORDED_MAX earlier
messages of its connection await that commit: with 1 (the default), a crash can resend only the
message each connection had in flight. The wait sits after the server's 354 (DATA accepted),
so the next message's envelope round trips overlap the previous outcome's commit.

Messages are serialised by a lean builder for the one shape the outbox sends (UTF-8 text + HTML
as multipart/alternative, RFC 2047 headers): it costs a small fraction of the SMTP exchange,
where email.message.EmailMessage costs more than the exchange itself. Messages are built at send
time rather than at enqueue, so the Date header is the sending time and redirect-all applies.
"""

import base64
import functools
import logging
import queue
import smtplib
import threading
import time
from dataclasses import dataclass, fields
from datetime import timedelta
from email.utils import formataddr, formatdate, parseaddr

import flask_mail
from flask import current_app

from webapp.services import clock, outbox
from webapp.services.addresses import InvalidAddress
from webapp.services.outbox import Claimed, Outcome, Result

log = logging.getLogger("missive.mailer")


@dataclass(frozen=True)
class Settings:
    """The drain's settings: app config (Flask-Mail names) with per-call overrides."""

    server: str
    port: int
    use_tls: bool
    use_ssl: bool
    username: str | None
    password: str | None
    timeout: float
    default_sender: str
    suppress: bool
    redirect_all_to: str | None
    max_per_minute: int | None
    batch_size: int
    connections: int
    breaker_failures: int
    breaker_pause: float
    lease_seconds: float
    unrecorded_max: int
    record_linger: float
    debug: int = 0
    max_emails: int | None = None  # Flask-Mail's Connection reads it; batches bound it here

    CONFIG_KEYS = {
        "server": "MAIL_SERVER", "port": "MAIL_PORT", "use_tls": "MAIL_USE_TLS",
        "use_ssl": "MAIL_USE_SSL", "username": "MAIL_USERNAME", "password": "MAIL_PASSWORD",
        "timeout": "MAIL_TIMEOUT_SECONDS", "default_sender": "MAIL_DEFAULT_SENDER",
        "suppress": "MAIL_SUPPRESS_SEND", "redirect_all_to": "MAIL_REDIRECT_ALL_TO",
        "max_per_minute": "MAIL_MAX_PER_MINUTE", "batch_size": "OUTBOX_BATCH_SIZE",
        "connections": "OUTBOX_SMTP_CONNECTIONS",
        "breaker_failures": "OUTBOX_CIRCUIT_BREAKER_FAILURES",
        "breaker_pause": "OUTBOX_CIRCUIT_BREAKER_PAUSE_SECONDS",
        "lease_seconds": "OUTBOX_LEASE_SECONDS",
        "unrecorded_max": "OUTBOX_UNRECORDED_MAX",
        "record_linger": "OUTBOX_RECORD_LINGER_SECONDS",
    }

    @classmethod
    def from_config(cls, config, overrides: dict | None = None) -> "Settings":
        """Settings from the app config; `overrides` use config names (MAIL_PORT=...)."""
        merged = {**config, **(overrides or {})}
        values = {name: merged.get(key) for name, key in cls.CONFIG_KEYS.items()}
        sender = values["default_sender"]
        if isinstance(sender, tuple | list):
            values["default_sender"] = formataddr(tuple(sender))
        values["connections"] = max(1, int(values["connections"] or 1))
        values["batch_size"] = max(1, int(values["batch_size"]))
        values["unrecorded_max"] = max(1, int(values["unrecorded_max"] or 1))
        return cls(**values)


@dataclass
class DrainReport:
    """What one run did."""

    batches: int = 0
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    released: int = 0
    circuit_open: bool = False
    rate_limited: bool = False

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# --- Building the bytes --------------------------------------------------------------------

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


class Breaker:
    """Counts consecutive connection-level failures across the run's connections."""

    def __init__(self, limit: int):
        self.limit = max(1, limit)
        self.consecutive = 0
        self.open = False
        self._lock = threading.Lock()

    def failure(self) -> None:
        with self._lock:
            self.consecutive += 1
            if self.consecutive >= self.limit:
                self.open = True

    def success(self) -> None:
        with self._lock:
            self.consecutive = 0


def _decode(text) -> str:
    return text.decode(errors="replace") if isinstance(text, bytes) else str(text)


def _classified(row: Claimed, code: int, text) -> Result:
    outcome = Outcome.PERMANENT if 500 <= code < 600 else Outcome.TEMPORARY
    return Result(row, outcome, code, _decode(text))


class _Abandoned(Exception):
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
            except _Abandoned:
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

    def __init__(self, settings: Settings, breaker: Breaker):
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


# --- The run -------------------------------------------------------------------------------


class _Run:
    """One drain run. Sender threads, each with one SMTP connection kept for the whole run, take
    rows from a work queue that this (the caller's) thread fills batch after batch; this thread
    also commits the outcomes the senders hand back, whatever has arrived as one group.

    A sender may run ahead of the commits by at most `unrecorded_max` messages: that is how many
    of its messages a crash can leave sent but not marked sent. The next batch is claimed while
    the senders still have a few rows to send, so they never wait for a claim."""

    def __init__(self, settings: Settings, worker: str, report: DrainReport):
        self.settings = settings
        self.worker = worker
        self.report = report
        self.work: queue.SimpleQueue[Claimed] = queue.SimpleQueue()
        self.done: queue.Queue[tuple[Result, threading.Semaphore] | None] = queue.Queue()
        self.no_more_work = threading.Event()
        self.stop = threading.Event()
        self.breaker = Breaker(settings.breaker_failures)
        self.outstanding: dict[int, Claimed] = {}
        self.senders: list[Sender] = []
        self.threads: list[threading.Thread] = []
        self.running = 0
        self.lease_check = time.monotonic() + settings.lease_seconds / 3

    def feed(self, rows: list[Claimed]) -> None:
        """Queue a claimed batch; return when the senders are about to run out of work."""
        for row in rows:
            self.outstanding[row.id] = row
            self.work.put(row)
        while len(self.threads) < min(self.settings.connections, len(self.outstanding)):
            sender = Sender(self.settings, self.breaker)
            thread = threading.Thread(target=self._send, args=(sender,), daemon=True)
            self.senders.append(sender)
            self.threads.append(thread)
            self.running += 1
            thread.start()
        low_water = self.settings.connections * self.settings.unrecorded_max
        while self.running and self.work.qsize() > low_water and not self.breaker.open:
            self._record_some()

    def finish(self) -> None:
        """Record the last outcomes, close the connections, release what was not sent."""
        self.no_more_work.set()
        try:
            while self.running:
                self._record_some()
        finally:
            self.stop.set()
            for thread in self.threads:
                thread.join(self.settings.timeout + 5)
        left = list(self.outstanding.values())
        if left:
            pause = clock.now() + timedelta(seconds=self.settings.breaker_pause)
            self.report.released += outbox.release(left, not_before=pause)
        if self.breaker.open:
            self.report.circuit_open = True
            log.warning("Circuit breaker open after %s connection failures: %s messages "
                        "released", self.breaker.consecutive, len(left))

    def _send(self, sender: Sender) -> None:
        # Taken before a message's content goes out, given back when its outcome is
        # committed: at most `unrecorded_max` messages of this connection are delivered but
        # not yet recorded. The envelope of the next message (MAIL, RCPT, DATA: three of the
        # four round trips) goes on meanwhile.
        ahead = threading.Semaphore(self.settings.unrecorded_max)

        def before_body() -> None:
            while not ahead.acquire(timeout=0.5):
                if self.stop.is_set():
                    raise _Abandoned()
            taken.append(True)

        try:
            while not self.breaker.open and not self.stop.is_set():
                row = self._next_row()
                if row is None:
                    if self.no_more_work.is_set():
                        return
                    continue
                taken: list[bool] = []
                try:
                    result = sender.send(row, before_body)
                except _Abandoned:
                    return  # not sent: the row is released with the others left
                except Exception as error:  # never lose a claimed row to a bug
                    log.exception("Sending message %s failed", row.id)
                    result = Result(row, Outcome.TEMPORARY, None, f"Worker error: {error!r}")
                self.done.put((result, ahead if taken else None))
        finally:
            sender.close()
            self.done.put(None)  # this sender is finished

    def _next_row(self) -> Claimed | None:
        try:
            return self.work.get(timeout=0.05)
        except queue.Empty:
            return None

    def _record_some(self) -> None:
        try:
            items = [self.done.get(timeout=1)]
        except queue.Empty:
            if not any(t.is_alive() for t in self.threads):
                self.running = 0
            return
        # Wait briefly for more outcomes while some sender can still run ahead: one commit
        # for several outcomes costs about what one commit for one outcome costs.
        full = self.running * self.settings.unrecorded_max
        linger_until = time.monotonic() + self.settings.record_linger
        while len(items) < full:
            try:
                items.append(self.done.get(timeout=max(0.0, linger_until - time.monotonic())))
            except queue.Empty:
                break
        group = [item for item in items if item is not None]
        self.running -= len(items) - len(group)
        outbox.record_results([result for result, _ in group], self.worker)
        for result, ahead in group:
            if ahead:
                ahead.release()
            self.outstanding.pop(result.row.id, None)
            _count(self.report, result)
        if time.monotonic() > self.lease_check:
            outbox.extend_leases(list(self.outstanding.values()))
            self.lease_check = time.monotonic() + self.settings.lease_seconds / 3


def _count(report: DrainReport, result: Result) -> None:
    if result.outcome in (Outcome.SENT, Outcome.SUPPRESSED):
        report.sent += 1
    elif result.outcome is Outcome.TEMPORARY and result.row.attempts + 1 < result.row.max_attempts:
        report.retried += 1
    else:
        report.failed += 1


def drain(worker: str = "drain", overrides: dict | None = None) -> DrainReport:
    """Send every row due when the run starts, batch after batch; call in an app context.

    Stops early when the circuit breaker opens or when MAIL_MAX_PER_MINUTE is used up (counted
    from the attempts table over the last minute, so the limit holds across runs)."""
    settings = Settings.from_config(current_app.config, overrides)
    report = DrainReport()
    started = clock.now()
    budget = None
    if settings.max_per_minute:
        budget = settings.max_per_minute - outbox.attempts_since(started - timedelta(minutes=1))
    run = _Run(settings, worker, report)
    try:
        while not run.breaker.open:
            limit = settings.batch_size
            if budget is not None:
                limit = min(limit, budget - report.claimed)
                if limit <= 0:
                    report.rate_limited = True
                    break
            rows = outbox.claim_due(worker, limit, due_before=started)
            if not rows:
                break
            report.batches += 1
            report.claimed += len(rows)
            run.feed(rows)
    finally:
        run.finish()
    if report.claimed:
        log.info("Drain by %s: %s", worker, report.as_dict())
    return report
