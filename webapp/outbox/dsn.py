"""What a message in the bounce mailbox says: a delivery status report (RFC 3464), an abuse
report (RFC 5965, ARF), an auto-reply, a bounce in some server's own words, or nothing known.

The standard library's `email` package reads the standard reports (Postfix, Exchange, Gmail and
today's Exim send multipart/report); `flufl.bounce`'s detectors read the others (Exim's
classic plain-text bounce with X-Failed-Recipients, qmail, ...). Which outbox row a report is
about is read from its signed reference (see `verp`): in the address the report was sent to,
in the DSN's Original-Envelope-Id, or in the returned headers' X-Missive-Ref.

Pure: no Flask, no database.
"""

import email
import email.policy
import re
from dataclasses import dataclass, field
from email.message import Message
from email.utils import getaddresses

from webapp.outbox import verp

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_AUTO_SUBJECT = re.compile(
    r"^(auto(matic)?[ -]?(reply|response)|out of (the )?office|absence|r[ée]ponse automatique"
    r"|abwesenheit|vacation)", re.IGNORECASE)

# RFC 3463 subjects and details that a person understands, for the reason "in words".
STATUS_WORDS = {
    "5.1.1": "the address does not exist",
    "5.1.10": "the address does not exist",
    "5.1.2": "the domain does not exist or takes no mail",
    "5.1.3": "the address is malformed",
    "5.1.6": "the mailbox has moved",
    "5.2.1": "the mailbox is disabled",
    "5.2.2": "the mailbox is full",
    "4.2.2": "the mailbox is full",
    "5.2.3": "the message is too large for the mailbox",
    "5.4.1": "the receiving server refused the message",
    "4.4.1": "the receiving server could not be reached",
    "4.4.7": "the message could not be delivered in time",
    "5.4.4": "the domain could not be found",
    "5.7.1": "the receiving server refused the message by policy",
    "5.7.26": "the message failed the receiving domain's authentication checks",
}


@dataclass(frozen=True)
class Recipient:
    address: str
    action: str  # failed, delayed, delivered, relayed, expanded
    status: str  # 5.1.1
    diagnostic: str


@dataclass
class Parsed:
    kind: str  # a ReportKind value
    recipients: list[Recipient] = field(default_factory=list)
    reporter: str = ""
    row_id: int | None = None
    subject: str = ""
    from_header: str = ""


def words(status: str, diagnostic: str = "") -> str:
    """A report's reason for people: the status in words, then the server's own."""
    said = STATUS_WORDS.get(status) or STATUS_WORDS.get(f"{status[:1]}.{status[2:]}", "")
    if not said and status[:1] == "5":
        said = "the address was refused"
    elif not said and status[:1] == "4":
        said = "delivery was given up after temporary failures"
    detail = " ".join(diagnostic.split())
    return "; ".join(part for part in (said, detail) if part)


def _text(part: Message) -> str:
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 — a broken part: nothing to read in it
        return ""
    if isinstance(payload, bytes):
        return payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    return ""


def _everything(message: Message, raw: bytes) -> str:
    """Where a reference may hide: the raw text and every decoded part (returned messages are
    sometimes base64)."""
    texts = [raw.decode("latin-1")]
    for part in message.walk():
        if not part.is_multipart():
            texts.append(_text(part))
    return "\n".join(texts)


def _field(block: Message, name: str) -> str:
    value = block.get(name, "")
    return " ".join(str(value).split())


def _typed_address(value: str) -> str:
    """`rfc822; x@example.org` -> x@example.org."""
    _, _, address = value.partition(";") if ";" in value else ("", "", value)
    return address.strip().strip("<>").lower()


def _delivery_status(part: Message) -> tuple[str, list[Recipient]]:
    """The reporter and the recipients of a message/delivery-status part."""
    blocks = part.get_payload()
    if isinstance(blocks, str):  # some servers send it as text: read it as header blocks
        blocks = [email.message_from_string(chunk.strip() + "\n")
                  for chunk in re.split(r"\r?\n\s*\r?\n", blocks) if chunk.strip()]
    if not blocks:
        return "", []
    reporter = _typed_address(_field(blocks[0], "Reporting-MTA"))
    recipients = []
    for block in blocks[1:] if len(blocks) > 1 else blocks:
        final = _field(block, "Final-Recipient") or _field(block, "Original-Recipient")
        if not final:
            continue
        status_match = _STATUS.search(_field(block, "Status"))
        diagnostic = _field(block, "Diagnostic-Code")
        if ";" in diagnostic:
            diagnostic = diagnostic.split(";", 1)[1].strip()
        if not status_match:
            status_match = _STATUS.search(diagnostic)
        status = ".".join(status_match.groups()) if status_match else ""
        recipients.append(Recipient(_typed_address(final), _field(block, "Action").lower(),
                                    status, diagnostic))
    return reporter, recipients


def _kind_of(recipients: list[Recipient]) -> str:
    actions = {r.action for r in recipients}
    failed = [r for r in recipients if r.action == "failed"]
    if failed:
        return "hard" if any(r.status.startswith("5") or not r.status for r in failed) \
            else "soft"
    if "delayed" in actions:
        return "delayed"
    return "unknown" if not recipients else "delivered"


def _is_auto_reply(message: Message, weak: bool = False) -> bool:
    """An auto-reply. `weak`: Auto-Submitted alone counts (bounces carry it too, so it is
    asked only once no bounce was found)."""
    auto = message.get("Auto-Submitted", "").lower()
    if weak and auto.startswith("auto-replied"):
        return True
    if any(message.get(name) for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder")):
        return True
    if message.get("Precedence", "").lower() == "auto_reply":
        return True
    return bool(_AUTO_SUBJECT.match(str(message.get("Subject", "")).strip()))


def _flufl(message: Message) -> list[Recipient]:
    """A bounce in some server's own words, read by flufl.bounce's detectors."""
    try:
        from flufl.bounce import all_failures
    except ImportError:  # pragma: no cover — an optional helper
        return []
    try:
        temporary, permanent = all_failures(message)
    except Exception:  # noqa: BLE001 — a detector choking on an odd message: unknown
        return []
    body = "\n".join(_text(part) for part in message.walk() if not part.is_multipart())
    found = []
    for failures, action in ((permanent, "failed"), (temporary, "delayed")):
        for raw in failures:
            address = raw.decode(errors="replace").lower()
            diagnostic = _diagnostic_near(body, address)
            match = _STATUS.search(diagnostic)
            status = ".".join(match.groups()) if match else ("5.0.0" if action == "failed"
                                                             else "4.0.0")
            found.append(Recipient(address, action, status, diagnostic))
    return found


def _diagnostic_near(body: str, address: str) -> str:
    """The server's words after an address in a plain-text bounce (Exim writes them on the
    lines below the address)."""
    index = body.lower().find(address)
    if index < 0:
        return ""
    lines = body[index + len(address):].splitlines()[1:6]
    said = []
    for line in lines:
        if not line.strip():
            if said:
                break
            continue
        said.append(line.strip())
    return " ".join(said)[:500]


def parse(raw: bytes, secret: str) -> Parsed:
    """Read one message of the bounce mailbox."""
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    subject = " ".join(str(message.get("Subject", "")).split())[:300]
    from_header = " ".join(str(message.get("From", "")).split())[:300]
    row_id = verp.row_of(_everything(message, raw), secret) if secret else None
    result = Parsed("unknown", row_id=row_id, subject=subject, from_header=from_header)
    content_type = message.get_content_type()
    report_type = (message.get_param("report-type") or "").lower()
    if content_type == "multipart/report" and report_type == "feedback-report":
        result.kind = "complaint"
        for part in message.walk():
            if part.get_content_type() == "message/feedback-report":
                blocks = part.get_payload()
                block = blocks[0] if isinstance(blocks, list) and blocks else part
                if isinstance(blocks, str):
                    block = email.message_from_string(blocks.strip() + "\n")
                result.reporter = _field(block, "Reporting-MTA") or _field(block, "User-Agent")
                rcpt = _field(block, "Original-Rcpt-To")
                if rcpt:
                    result.recipients.append(Recipient(rcpt.strip("<>").lower(), "complaint",
                                                       "", _field(block, "Feedback-Type")))
        if not result.recipients:
            result.recipients = _returned_recipients(message)
        return result
    for part in message.walk():
        if part.get_content_type() == "message/delivery-status":
            result.reporter, recipients = _delivery_status(part)
            result.recipients = _with_notification_words(message, recipients)
            result.kind = _kind_of(result.recipients)
            return result
    if _is_auto_reply(message):
        result.kind = "autoreply"
        return result
    recipients = _flufl(message)
    if recipients:
        result.recipients = recipients
        result.kind = _kind_of(recipients)
        result.reporter = from_header
    elif _is_auto_reply(message, weak=True):
        result.kind = "autoreply"
    return result


def _notification(message: Message) -> str:
    """The human-readable first part of a multipart/report."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return _text(part)
    return ""


def _said_about(text: str, address: str) -> str:
    """Postfix's words for one recipient in its notification: `<address>: reason`, continued
    on the indented lines below."""
    match = re.search(rf"^<{re.escape(address)}>[^:\n]*:(.*(?:\n[ \t]+.*)*)", text,
                      re.IGNORECASE | re.MULTILINE)
    return " ".join(match.group(1).split())[:500] if match else ""


def _with_notification_words(message: Message, recipients: list[Recipient]) -> list[Recipient]:
    """Add the notification's words for a recipient when they say more than the report's
    Diagnostic-Code: Postfix's local delivery reports a full mailbox as `x-unix; input/output
    error` and gives the real reason ("cannot update mailbox ... File too large") only in its
    text. A remote server's reply is in both, and is kept once."""
    text = _notification(message)
    if not text:
        return recipients
    enriched = []
    for recipient in recipients:
        said = _said_about(text, recipient.address)
        if said and recipient.diagnostic.lower() not in said.lower():
            diagnostic = "; ".join(part for part in (said, recipient.diagnostic) if part)
            recipient = Recipient(recipient.address, recipient.action, recipient.status,
                                  diagnostic[:500])
        enriched.append(recipient)
    return enriched


def _returned_recipients(message: Message) -> list[Recipient]:
    """The To of the returned original message, for a complaint that names nobody."""
    for part in message.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if inner is None and isinstance(payload, str):
                inner = email.message_from_string(payload)
            if inner is not None:
                return [Recipient(address.lower(), "complaint", "", "abuse")
                        for _, address in getaddresses(inner.get_all("To", [])) if address]
    return []
