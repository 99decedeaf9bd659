"""Outbox rows: what one email is as column values, and how a caller adds it.

Nothing here commits: `enqueue` adds the row to the caller's session and `insert_many` /
`insert_new` write many rows in the caller's transaction, so an email exists only if the
event's transaction commits.
"""

import hashlib
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite

from webapp.core import clock
from webapp.core.addresses import InvalidAddress, recipient_address
from webapp.core.errors import ValidationFailed
from webapp.extensions import db
from webapp.models.outbox import OutboxMessage, OutboxPriority, OutboxState
from webapp.outbox import one_click, suppression

STANDARD_HEADERS = {
    # RFC 3834: tells auto-responders not to answer, and mail clients that no human sent it.
    "Auto-Submitted": "auto-generated",
    "X-Auto-Response-Suppress": "All",
}


KEY_LENGTH = 255  # outbox_messages.dedupe_key
CHUNK = 500  # rows per INSERT statement
_messages = OutboxMessage.__table__


def headers_for(to_addr: str, transactional: bool, campaign_id: int | None,
                trigger_id: int | None, event_type: str) -> dict:
    """A row's own headers: the standard ones; Feedback-ID (campaign, automatic email, kind,
    sender: how mailbox providers group their feedback); one-click unsubscribe for mail that
    is not transactional."""
    headers = dict(STANDARD_HEADERS)
    sender = current_app.config.get("MAIL_FEEDBACK_ID") or "missive"
    kind = (event_type or "platform").replace(":", "-")
    headers["Feedback-ID"] = f"{campaign_id or 0}:{trigger_id or 0}:{kind}:{sender}"
    if not transactional and "@" in to_addr:
        headers.update(one_click.headers_for(to_addr))
    return headers


def dedupe_key(trigger_id: int | None, event_type: str, event_id: int | str,
               recipient: str) -> str:
    """One email per (trigger, event, recipient): the unique key that refuses a second one.
    A key longer than its column (a very long address) ends with its own digest instead."""
    key = f"{trigger_id or 0}:{event_type}:{event_id}:{recipient.lower()}"
    if len(key) > KEY_LENGTH:
        key = f"{key[:KEY_LENGTH - 65]}#{hashlib.sha256(key.encode()).hexdigest()}"
    return key


def message_id_for(key: str) -> str:
    """A Message-ID derived from the dedupe key: a resend after a crash keeps the same one."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<{digest}@{current_app.config['MAIL_MESSAGE_ID_DOMAIN']}>"


def message_values(*, key: str, to_addr: str, subject: str, body_html: str, body_text: str,
                   to_name: str = "", sender: str = "", reply_to: str = "", cc: str = "",
                   bcc: str = "", locale: str = "fr", event_type: str = "",
                   event_id: int | None = None, campaign_id: int | None = None,
                   application_id: int | None = None, trigger_id: int | None = None,
                   template_id: int | None = None, recipient_user_id: int | None = None,
                   is_test: bool = False, failed_reason: str = "",
                   priority: OutboxPriority = OutboxPriority.NORMAL,
                   not_before: datetime | None = None, held: bool = False,
                   transactional: bool | None = None) -> dict:
    """The column values of one outbox row, checked: no line break in a header, no oversized
    body. A row born `failed` (rendering failed at fire time) carries its reason. `priority`:
    URGENT for account emails, acknowledgements and tests, BULK for a large status change.
    `not_before` delays the first attempt; `held` writes the row in the state the worker never
    claims. A recipient on the suppression list gets a row all the same, `suppressed` with the
    reason, never a silent skip (an unsubscribe counts only when not `transactional`)."""
    for name, value in (("to", to_addr), ("to_name", to_name), ("subject", subject),
                        ("sender", sender), ("reply_to", reply_to), ("cc", cc), ("bcc", bcc)):
        if "\n" in value or "\r" in value:
            raise ValidationFailed(str(_l("Line break in the %(name)s header.", name=name)),
                                   field=name)
    try:  # checked and normalised once, here: the worker only reads what this wrote
        to_addr = recipient_address(to_addr)
    except InvalidAddress as error:
        failed_reason = failed_reason or f"Invalid address: {error.address!r} (one address " \
            "per email, nothing to deliver)"
    if transactional is None:  # reminders are not; acknowledgements, decisions, accounts are
        transactional = one_click.is_transactional(event_type)
    suppressed = None if failed_reason else suppression.reason_for(to_addr, transactional)
    held = held or suppression.trigger_paused(trigger_id)  # paused for its bounce rate
    limit = current_app.config["MAIL_MAX_BODY_BYTES"]
    if len(body_html.encode()) + len(body_text.encode()) > limit:
        raise ValidationFailed(str(_l("The message body is larger than %(limit)d bytes.",
                                      limit=limit)), field="body")
    now = clock.now()
    return {
        "dedupe_key": key,
        "priority": OutboxPriority(priority).value,
        "message_id": message_id_for(key),
        "state": OutboxState.FAILED.value if failed_reason
        else OutboxState.SUPPRESSED.value if suppressed
        else OutboxState.HELD.value if held else OutboxState.PENDING.value,
        "delivery_detail": suppressed or "",
        "last_error": failed_reason,
        "to_addr": to_addr, "to_name": to_name, "sender": sender, "reply_to": reply_to,
        "cc": cc, "bcc": bcc, "subject": subject, "body_html": body_html,
        "body_text": body_text, "headers": headers_for(to_addr, transactional, campaign_id,
                                                       trigger_id, event_type),
        "locale": locale,
        "is_test": is_test, "event_type": event_type, "event_id": event_id,
        "campaign_id": campaign_id, "application_id": application_id,
        "trigger_id": trigger_id, "template_id": template_id,
        "recipient_user_id": recipient_user_id,
        "attempts": 0, "max_attempts": current_app.config["OUTBOX_MAX_ATTEMPTS"],
        "next_attempt_at": max(now, not_before) if not_before else now,
        "created_at": now, "updated_at": now,
    }


def unrendered(body_html: str | None, body_text: str | None) -> bool:
    """A row without a body was never rendered (its template failed for its recipient, and it
    holds the raw subject): it is rendered again, or it is not sent."""
    return not (body_html or "").strip() and not (body_text or "").strip()


def enqueue(**fields) -> OutboxMessage:
    """Add one message to the caller's session (see message_values for the fields); the
    caller's commit makes it real."""
    message = OutboxMessage(**message_values(**fields))
    db.session.add(message)
    return message


def insert_many(rows: list[dict]) -> int:
    """Insert rows made by `message_values`, many per statement, in the caller's transaction
    (never commits). A second row with the same dedupe key fails the transaction."""
    for start in range(0, len(rows), CHUNK):
        db.session.execute(sa.insert(_messages), rows[start:start + CHUNK])
    return len(rows)


def insert_new(rows: list[dict]) -> int:
    """Insert rows made by `message_values`, skipping any whose dedupe key exists (another
    run got there first), in the caller's transaction (never commits); returns how many were
    inserted."""
    if not rows:
        return 0
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    inserted = 0
    for start in range(0, len(rows), CHUNK):
        # No RETURNING: the driver's executemany keeps one short statement (with RETURNING,
        # hundreds of rows are rendered into one statement that psycopg parses every time);
        # both drivers sum the rows each execution inserted.
        result = db.session.execute(
            insert(_messages).on_conflict_do_nothing().execution_options(preserve_rowcount=True),
            rows[start:start + CHUNK])
        inserted += result.rowcount
    return inserted
