"""The sysadmin's actions on the outbox: retry now, cancel, resend, one message or every
one matching a filter. Each changes rows, writes its audit entry and commits, as one
transaction.

A row whose rendering failed (raw subject, no body) is never sent as it is: retry and resend
render it again with its template's current version, through the renderer the services
registered (`set_renderer`: the outbox knows no template), and note it in its attempts; when
it still cannot be rendered, they refuse with the reason.
"""

import logging
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from webapp.core import audit, clock
from webapp.core.errors import ValidationFailed
from webapp.extensions import db
from webapp.models.outbox import OutboxAttempt, OutboxMessage, OutboxState
from webapp.outbox import attachments
from webapp.outbox.admin import Filter, forget_counts, get
from webapp.outbox.queue import Outcome
from webapp.outbox.rows import STANDARD_HEADERS, message_values, unrendered

log = logging.getLogger("missive.outbox")
_messages = OutboxMessage.__table__
_attempts = OutboxAttempt.__table__


RETRYABLE = (OutboxState.FAILED.value, OutboxState.PENDING.value)
CANCELLABLE = (OutboxState.PENDING.value, OutboxState.FAILED.value)


RENDERER = "missive.outbox.renderer"


def set_renderer(app, render) -> None:
    """`render(message)` returns a never-rendered row's columns (subject, body_html, body_text,
    locale, sender, reply_to, cc, bcc) rendered again with its current template, or raises
    ValidationFailed with why it cannot."""
    app.extensions[RENDERER] = render


def never_rendered(message: OutboxMessage) -> bool:
    return unrendered(message.body_html, message.body_text)


def _rendered_again(message: OutboxMessage) -> dict:
    render = current_app.extensions.get(RENDERER)
    try:
        if render is None:
            raise ValidationFailed(str(_l("Nothing here can render it.")))
        return render(message)
    except ValidationFailed as error:
        raise ValidationFailed(str(_l(
            "This message was never rendered (its template failed for this recipient) and "
            "cannot be rendered again: %(reason)s", reason=str(error)))) from None


def rendering_problem(message: OutboxMessage) -> str:
    """Why a never-rendered message can be neither retried nor resent ("" when it can, or
    when it was rendered): the page offers only what works."""
    if not never_rendered(message):
        return ""
    try:
        _rendered_again(message)
    except ValidationFailed as error:
        return str(error)
    return ""


def _note_rendered(message_id: int, attempts: int, actor, before: str, now: datetime) -> None:
    """Say in the row's attempts that it was rendered again, and what had failed."""
    text = f"Rendered again with the current template by {getattr(actor, 'email', 'system')}"
    if before:
        text += f" (before: {before})"
    db.session.execute(sa.insert(_attempts).values(
        message_id=message_id, number=attempts, outcome=Outcome.RENDERED.value, smtp_code=None,
        smtp_text=text[:2000], worker="", created_at=now))


def count_never_rendered(flt: Filter) -> int:
    """Failed or pending messages matching the filter that were never rendered (no body):
    a bulk retry renders them again first, and leaves those that still cannot be."""
    m = _messages.c
    return db.session.scalar(sa.select(sa.func.count()).select_from(_messages).where(
        *flt.where(), m.state.in_(RETRYABLE), m.body_html == "", m.body_text == "")) or 0


def _retry_values(now: datetime) -> dict:
    m = _messages.c
    # A failed row that used its attempts gets one more; its history stays.
    return dict(state=OutboxState.PENDING.value, next_attempt_at=now,
                max_attempts=sa.case((m.max_attempts <= m.attempts, m.attempts + 1),
                                     else_=m.max_attempts),
                updated_at=now)


def _changed(message: OutboxMessage, states: tuple[str, ...], values: dict) -> bool:
    result = db.session.execute(sa.update(_messages)
                                .where(_messages.c.id == message.id,
                                       _messages.c.state.in_(states)).values(**values))
    db.session.refresh(message)
    return bool(result.rowcount)


def _recorded(actor, message: OutboxMessage, action: str, done: str) -> OutboxMessage:
    """The end of an action on one message: its audit entry, the commit, the log line."""
    audit.record(actor, f"outbox.{action}", "outbox_message", message.id,
                 f"{action.capitalize()} {message.message_id} to {message.to_addr}",
                 message.campaign_id)
    db.session.commit()
    forget_counts()
    log.info("Message %s %s by %s", message.id, done, getattr(actor, "email", actor))
    return message


def retry_now(actor, message_id: int) -> OutboxMessage:
    """Make a failed or pending message due at once; one never rendered is rendered again
    first (or refused with the reason)."""
    message = get(message_id)
    now = clock.now()
    values = _retry_values(now)
    again = message.state in RETRYABLE and never_rendered(message)
    before = message.last_error
    if again:
        values.update(_rendered_again(message), last_error="")
    if not _changed(message, RETRYABLE, values):
        raise ValidationFailed(str(_l("Only a failed or pending message can be retried "
                                      "(this one is %(state)s).", state=message.state)))
    if again:
        _note_rendered(message.id, message.attempts, actor, before, now)
    return _recorded(actor, message, "retry", "retried")


def cancel(actor, message_id: int) -> OutboxMessage:
    """Stop a pending or failed message from being sent."""
    message = get(message_id)
    now = clock.now()
    reason = f"Cancelled by {getattr(actor, 'email', 'system')}"
    if not _changed(message, CANCELLABLE, dict(state=OutboxState.CANCELLED.value,
                                               cancel_reason=reason, updated_at=now)):
        raise ValidationFailed(str(_l("Only a pending or failed message can be cancelled "
                                      "(this one is %(state)s).", state=message.state)))
    return _recorded(actor, message, "cancel", "cancelled")


def resend(actor, message_id: int) -> OutboxMessage:
    """Queue a copy of a message as a new row linked to the original."""
    original = get(message_id)
    if original.state not in current_app.config["OUTBOX_RESEND_STATES"]:
        raise ValidationFailed(str(_l("A %(state)s message cannot be resent.",
                                      state=original.state)))
    copies = db.session.scalar(sa.select(sa.func.count()).select_from(_messages)
                               .where(_messages.c.resent_from_id == original.id)) or 0
    key = f"resend:{original.id}:{copies + 1}:{original.dedupe_key}"[:255]
    content = dict(sender=original.sender, reply_to=original.reply_to, cc=original.cc,
                   bcc=original.bcc, subject=original.subject, body_html=original.body_html,
                   body_text=original.body_text, locale=original.locale)
    again = never_rendered(original)
    if again:
        content.update(_rendered_again(original))
    values = message_values(
        key=key, to_addr=original.to_addr, to_name=original.to_name, **content,
        event_type=original.event_type, event_id=original.event_id,
        campaign_id=original.campaign_id, application_id=original.application_id,
        trigger_id=original.trigger_id, template_id=original.template_id,
        recipient_user_id=original.recipient_user_id, is_test=original.is_test,
        priority=original.priority,
        transactional="List-Unsubscribe" not in (original.headers or {}))
    values["headers"] = dict(original.headers or STANDARD_HEADERS)
    copy = OutboxMessage(**values, resent_from_id=original.id)
    db.session.add(copy)
    db.session.flush()
    if again:
        _note_rendered(copy.id, 0, actor, original.last_error, copy.created_at)
    attachments.copy(original.id, copy.id)  # the same stored bytes as the first send
    audit.record(actor, "outbox.resend", "outbox_message", copy.id,
                 f"Resend of message {original.id} to {original.to_addr}", original.campaign_id)
    db.session.commit()
    forget_counts()
    log.info("Message %s resent as %s by %s", original.id, copy.id,
             getattr(actor, "email", actor))
    return copy


def bulk_retry(actor, flt: Filter) -> int:
    """Retry every failed or pending message matching the filter; those never rendered are
    rendered again first, and stay as they are when they still cannot be."""
    now = clock.now()
    m = _messages.c
    rendered = sa.or_(m.body_html != "", m.body_text != "")
    result = db.session.execute(sa.update(_messages)
                                .where(*flt.where(), m.state.in_(RETRYABLE), rendered)
                                .values(**_retry_values(now)))
    retried, left = result.rowcount, 0
    for message in db.session.scalars(sa.select(OutboxMessage).where(
            *flt.where(), m.state.in_(RETRYABLE), sa.not_(rendered))).all():
        before = message.last_error
        try:
            values = dict(_retry_values(now), **_rendered_again(message), last_error="")
        except ValidationFailed:
            left += 1
            continue
        if _changed(message, RETRYABLE, values):
            _note_rendered(message.id, message.attempts, actor, before, now)
            retried += 1
    summary = f"Retry {retried} messages ({_describe(flt)})"
    if left:
        summary += f"; {left} never rendered still cannot be and stay as they are"
    audit.record(actor, "outbox.bulk_retry", "outbox_message", None, summary, flt.campaign_id)
    db.session.commit()
    forget_counts()
    log.info("%s messages retried by %s (%s could not be rendered)", retried,
             getattr(actor, "email", actor), left)
    return retried


def bulk_cancel(actor, flt: Filter) -> int:
    """Cancel every pending or failed message matching the filter."""
    now = clock.now()
    reason = f"Cancelled by {getattr(actor, 'email', 'system')}"
    result = db.session.execute(sa.update(_messages)
                                .where(*flt.where(), _messages.c.state.in_(CANCELLABLE))
                                .values(state=OutboxState.CANCELLED.value,
                                        cancel_reason=reason, updated_at=now))
    audit.record(actor, "outbox.bulk_cancel", "outbox_message", None,
                 f"Cancel {result.rowcount} messages ({_describe(flt)})", flt.campaign_id)
    db.session.commit()
    forget_counts()
    log.info("%s messages cancelled by %s", result.rowcount, getattr(actor, "email", actor))
    return result.rowcount


def _describe(flt: Filter) -> str:
    parts = [f"{name}={value}" for name, value in flt.__dict__.items() if value]
    return ", ".join(parts) or "all"
