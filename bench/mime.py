"""What building a message costs beside sending it: `python -m bench.mime`.

Per message, medians of 5 rounds: the outbox's builder (a typical acknowledgement, and one with
a 5,000-character subject and a long non-ASCII name to fold), the same message through the
standard library's `EmailMessage` with `email.policy.SMTP` folding, and one SMTP exchange of a
prebuilt message over one smtplib connection to the benchmark server on loopback (the cheapest
exchange there is: a real relay is a round trip away).
"""

import smtplib
import statistics
import time
from dataclasses import dataclass, field

from bench import baselines
from bench.common import CountingServer
from webapp.outbox.mime import build_message

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


def per_message(action, n: int = N) -> float:
    """Median microseconds per call over ROUNDS rounds of n calls."""
    results = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for i in range(n):
            action(i)
        results.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(results)


def main() -> None:
    config = Settings()
    typical = Row()
    folded = Row(subject=" ".join(f"mot{i} été" for i in range(700))[:5000],
                 to_name="Éléonore-Marie de la Rochefoucauld-Montmorency Saint-Exupéry "
                         "van der Berghe Łukasz Ødegård")
    figures = {
        "outbox builder, typical message": per_message(lambda i: build_message(typical, config)),
        "outbox builder, 5,000-char subject + long name":
            per_message(lambda i: build_message(folded, config), n=N // 4),
        "EmailMessage + policy.SMTP, typical message": per_message(baselines.build),
    }
    prebuilt = build_message(typical, config)[2]
    with CountingServer() as server, smtplib.SMTP("127.0.0.1", server.port, timeout=30) as smtp:
        figures["one SMTP exchange on loopback (smtplib, prebuilt)"] = per_message(
            lambda i: smtp.sendmail(baselines.SENDER, [baselines.recipient(i)], prebuilt),
            n=N // 4)
    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"{name:<{width}}  {value:8.1f} µs/message")


if __name__ == "__main__":
    main()
