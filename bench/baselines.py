"""What people reach for instead of an outbox: plain smtplib, one connection."""

import email.policy
import smtplib
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

SUBJECT = "Accusé de réception : Bourses de recherche 2027"
HTML = ("<p>Bonjour Élodie Müller,</p>\n<p>Nous avons bien reçu votre candidature "
        "<strong>MIS-ABCDEFGH</strong> à la campagne « Bourses de recherche 2027 ».</p>\n"
        "<p>L'équipe Missive</p>\n") * 3  # lines as templates write them: SMTP limits a line
TEXT = ("Bonjour Élodie Müller,\n\nNous avons bien reçu votre candidature MIS-ABCDEFGH à la "
        "campagne « Bourses de recherche 2027 ».\n\nL'équipe Missive\n") * 3
SENDER = "no-reply@missive.example.org"


def recipient(i: int) -> str:
    return f"candidate{i}@example.org"


def build(i: int) -> bytes:
    """The outbox's message shape with the standard library's modern API."""
    message = EmailMessage()
    message["From"] = formataddr(("Missive", SENDER))
    message["To"] = formataddr(("Élodie Müller", recipient(i)))
    message["Subject"] = SUBJECT
    message["Message-ID"] = make_msgid(domain="missive.example.org")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(TEXT)
    message.add_alternative(HTML, subtype="html")
    return message.as_bytes(policy=email.policy.SMTP)  # CRLF: smtplib sends bytes as they are


def send_prebuilt(port: int, messages: list[bytes]) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        for i, data in enumerate(messages):
            smtp.sendmail(SENDER, [recipient(i)], data)


def send_building(port: int, n: int) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        for i in range(n):
            smtp.sendmail(SENDER, [recipient(i)], build(i))
