"""The wire: what building a message costs beside sending it, and what PIPELINING saves.
`python -m bench.wire` alone, or `make bench`'s figure "wire".

Per message, medians of 5 rounds: the outbox's builder (a typical acknowledgement, and one with
a 5,000-character subject and a long non-ASCII name to fold), the same message through the
standard library's `EmailMessage` with `email.policy.SMTP` folding, and one SMTP exchange of a
prebuilt message over one smtplib connection to the benchmark server on loopback (the cheapest
exchange there is: a real relay is a round trip away).

Then one `webapp.outbox.smtp.Connection` against the test server (in this process) holding
each reply back 5 ms, as a relay a round trip away: messages per second without and with
PIPELINING offered, medians of 3 rounds.
"""

import smtplib
import time
from dataclasses import dataclass, field, replace

from bench import baselines
from bench.common import CountingServer
from bench.harness import Figure, table
from tests.smtp_server import SMTPServer
from webapp.outbox.mime import build_message
from webapp.outbox.smtp import Connection

N = 2000
ROUNDS = 5


@dataclass
class Row:
    id: int = 1
    message_id: str = "<0123456789abcdef0123456789abcdef@missive.example.org>"
    to_addr: str = "candidate1@example.org"
    to_name: str = "Élodie Müller"
    cc: str = ""
    bcc: str = ""
    sender: str = ""
    reply_to: str = ""
    subject: str = baselines.SUBJECT
    body_html: str = baselines.HTML
    body_text: str = baselines.TEXT
    headers: dict = field(default_factory=lambda: {"Auto-Submitted": "auto-generated",
                                                   "X-Auto-Response-Suppress": "All"})


@dataclass
class Settings:
    default_sender: str = "Missive <no-reply@missive.example.org>"
    redirect_all_to: str | None = None


def per_message(action, n: int = N, rounds: int = ROUNDS) -> list[float]:
    """Microseconds per call, one value per round of n calls."""
    results = []
    for _ in range(rounds):
        start = time.perf_counter()
        for i in range(n):
            action(i)
        results.append((time.perf_counter() - start) / n * 1e6)
    return results


def figures(server: CountingServer, n: int = N, rounds: int = ROUNDS) -> list[Figure]:
    """The builder beside `EmailMessage`, an SMTP exchange beside the builder, and one
    connection to a relay 5 ms away with and without PIPELINING."""
    config = Settings()
    typical = Row()
    folded = Row(subject=" ".join(f"mot{i} été" for i in range(700))[:5000],
                 to_name="Éléonore-Marie de la Rochefoucauld-Montmorency Saint-Exupéry "
                         "van der Berghe Łukasz Ødegård")
    builder = per_message(lambda i: build_message(typical, config), n, rounds)
    # A subject of its own each time: the builder keeps recent subjects folded.
    long = per_message(
        lambda i: build_message(replace(folded, subject=f"{i} {folded.subject}"), config),
        max(1, n // 4), rounds)
    stdlib = per_message(baselines.build, n, rounds)
    prebuilt = build_message(typical, config)[2]
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as smtp:
        exchange = per_message(
            lambda i: smtp.sendmail(baselines.SENDER, [baselines.recipient(i)], prebuilt),
            max(1, n // 4), rounds)
    server.reset()
    delayed = max(10, n // 20)
    plain = [delayed_rate(prebuilt, False, delayed) for _ in range(min(rounds, 3))]
    pipelined = [delayed_rate(prebuilt, True, delayed) for _ in range(min(rounds, 3))]
    email_message = "EmailMessage + policy.SMTP, typical message"
    return [
        Figure("message builder, typical message", "µs/message", builder, email_message,
               stdlib, higher_is_better=False),
        Figure("message builder, 5,000-char subject + long name", "µs/message", long,
               email_message, stdlib, higher_is_better=False),
        Figure("one SMTP exchange on loopback (smtplib, prebuilt)", "µs/message", exchange,
               "message builder, typical message", builder, higher_is_better=False,
               notes=["the cheapest exchange there is: a real relay is a round trip away"]),
        Figure("one outbox connection, replies 5 ms late, PIPELINING offered", "msgs/s",
               pipelined, "PIPELINING not offered", plain,
               notes=[f"{delayed} messages over one webapp.outbox.smtp.Connection"]),
    ]


def main() -> None:
    with CountingServer() as server:
        print(table(figures(server)))


@dataclass
class ConnectionSettings:
    port: int
    server: str = "127.0.0.1"
    use_tls: bool = False
    use_ssl: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 30
    ca_file: str | None = None
    tls_verify: bool = True
    ehlo_name: str | None = "bench.missive.example.org"


def delayed_rate(data: bytes, pipelining: bool, n: int = 100) -> float:
    server = SMTPServer().start()
    server.handler.reply_delay = 0.005
    server.handler.pipelining = pipelining
    connection = Connection(ConnectionSettings(server.port))
    try:
        connection.open()
        start = time.perf_counter()
        for i in range(n):
            connection.send(baselines.SENDER, [baselines.recipient(i)], data)
        rate = n / (time.perf_counter() - start)
    finally:
        connection.close()
        server.stop()
    assert len(server.messages) == n
    return rate


if __name__ == "__main__":
    main()
