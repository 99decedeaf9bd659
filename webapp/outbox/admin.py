"""The sysadmin's side of the outbox: counters, health, the filtered list, and the actions.

Queries never commit. Each action (retry_now, cancel, resend, bulk_retry, bulk_cancel) changes
rows, writes its audit entry and commits, as one transaction.

A row whose rendering failed (raw subject, no body) is never sent as it is: retry and resend
render it again with its template's current version, through the renderer the services
registered (`set_renderer`: the outbox knows no template), and note it in its attempts; when
it still cannot be rendered, they refuse with the reason.
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from webapp.core import audit, clock
from webapp.core.errors import NotFound, ValidationFailed
from webapp.extensions import db
from webapp.models import (
    Campaign,
    EmailTemplate,
    OutboxAttempt,
    OutboxMessage,
    OutboxState,
    Trigger,
    WorkerHeartbeat,
)
from webapp.outbox import attachments
from webapp.outbox.queue import Outcome
from webapp.outbox.rows import STANDARD_HEADERS, message_values, unrendered

log = logging.getLogger("missive.outbox")
_messages = OutboxMessage.__table__
_attempts = OutboxAttempt.__table__


@dataclass(frozen=True)
class Filter:
    """The Outbox page's filter; every field optional."""

    state: str = ""
    priority: int | None = None
    campaign_id: int | None = None
    trigger_id: int | None = None
    template_id: int | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None  # exclusive
    search: str = ""

    def where(self) -> list:
        m = _messages.c
        clauses = []
        if self.state:
            clauses.append(m.state == self.state)
        if self.priority is not None:
            clauses.append(m.priority == self.priority)
        if self.campaign_id:
            clauses.append(m.campaign_id == self.campaign_id)
        if self.trigger_id:
            clauses.append(m.trigger_id == self.trigger_id)
        if self.template_id:
            clauses.append(m.template_id == self.template_id)
        if self.created_from:
            clauses.append(m.created_at >= self.created_from)
        if self.created_to:
            clauses.append(m.created_at < self.created_to)
        text = self.search.strip()
        if text:
            if text.startswith("<") and text.endswith(">"):
                clauses.append(m.message_id == text)
            elif "@" in text and " " not in text:
                clauses.append(sa.or_(m.to_addr == text.lower(), m.message_id == f"<{text}>"))
            else:
                clauses.append(sa.or_(m.subject.icontains(text, autoescape=True),
                                      m.to_addr.icontains(text, autoescape=True)))
        return clauses


_counts_cache: dict[str, tuple[float, dict[str, int]]] = {}


def counters() -> dict[str, int]:
    """Rows per state, every state present.

    Counting is a scan of the state index, so it grows with the table (about 40 ms at a
    million rows on SQLite). Above OUTBOX_COUNTERS_EXACT_BELOW rows the counts are kept for
    OUTBOX_COUNTERS_CACHE_SECONDS (the page polls them every 5 s anyway); this process's own
    retry, cancel and resend forget them at once. Smaller outboxes are always counted."""
    config = current_app.config
    key = db.engine.url.render_as_string()
    cached = _counts_cache.get(key)
    if cached and time.monotonic() < cached[0]:
        return dict(cached[1])
    rows = db.session.execute(sa.select(_messages.c.state, sa.func.count())
                              .group_by(_messages.c.state)).all()
    counts = {state.value: 0 for state in OutboxState}
    counts.update({state: count for state, count in rows})
    if sum(counts.values()) >= config["OUTBOX_COUNTERS_EXACT_BELOW"]:
        _counts_cache[key] = (time.monotonic() + config["OUTBOX_COUNTERS_CACHE_SECONDS"],
                              dict(counts))
    return counts


def forget_counts() -> None:
    """Drop the cached counters (after an action that changes states)."""
    _counts_cache.clear()


@dataclass(frozen=True)
class Health:
    last_seen_at: datetime | None
    worker_missing: bool
    failures_last_hour: int
    failures_hour_before: int
    failures_rising: bool
    drains_stalled: bool = False  # a worker is alive, but none finished a drain lately
    drain_error: str = ""  # why the latest drain failed ("" when it finished well)
    paused_until: datetime | None = None  # the relay was unreachable: sending waits till then
    # Rows leased to a worker that is not sending them (stopped, killed, or cut off from the
    # database): how many, and when the last of their leases expires.
    idle_leases: int = 0
    idle_leases_until: datetime | None = None
    # Live workers that lately could not reach the database: (worker, since, until, error).
    db_outages: tuple[tuple[str, datetime, datetime, str], ...] = ()

    # Why the pause, when it is the configuration (certificate, login) and not the network.
    configuration_error: str = ""


def _idle_leases(live: set[str]) -> tuple[int, datetime | None]:
    """Rows in `sending` whose lease owner (`worker/run`) is no live worker: nobody is
    sending them; they wait for their lease to expire. Reads the `sending` rows' index."""
    m = _messages.c
    rows = db.session.execute(
        sa.select(m.lease_owner, sa.func.count(), sa.func.max(m.lease_expires_at))
        .where(m.state == OutboxState.SENDING.value).group_by(m.lease_owner)).all()
    idle = [(count, until) for owner, count, until in rows
            if (owner or "").rsplit("/", 1)[0] not in live]
    return (sum(count for count, _ in idle),
            max((until for _, until in idle if until), default=None))


def health() -> Health:
    """Whether a worker was seen lately, whether its drains finish (and finish well), and
    whether failed attempts are rising."""
    config = current_app.config
    now = clock.now()
    last_seen = db.session.scalar(sa.select(sa.func.max(WorkerHeartbeat.last_seen_at)))
    stale = timedelta(seconds=config["OUTBOX_WORKER_STALE_SECONDS"])
    h = WorkerHeartbeat
    live = db.session.execute(sa.select(h.worker, h.started_at, h.last_drain_at,
                                        h.last_drain_error, h.paused_until,
                                        h.db_unreachable_since, h.db_unreachable_until,
                                        h.db_error)
                              .where(h.last_seen_at >= now - stale)).all()
    idle, idle_until = _idle_leases({row.worker for row in live})
    outages = tuple((row.worker, row.db_unreachable_since, row.db_unreachable_until,
                     row.db_error) for row in live
                    if row.db_unreachable_until
                    and row.db_unreachable_until >= now - timedelta(hours=1))
    drain_stale = now - timedelta(seconds=config["OUTBOX_DRAIN_STALE_SECONDS"])
    # Stalled: every live worker has been up for a while and finished no drain since then.
    stalled = bool(live) and all((row.last_drain_at or row.started_at) < drain_stale
                                 for row in live)
    pauses = [row.paused_until for row in live if row.paused_until and row.paused_until > now]
    latest = max((row for row in live if row.last_drain_at), default=None,
                 key=lambda row: row.last_drain_at)
    a = _attempts.c
    failing = a.outcome.in_([Outcome.TEMPORARY.value, Outcome.PERMANENT.value])
    hour = timedelta(hours=1)
    last_hour = db.session.scalar(sa.select(sa.func.count()).where(
        failing, a.created_at >= now - hour)) or 0
    hour_before = db.session.scalar(sa.select(sa.func.count()).where(
        failing, a.created_at >= now - 2 * hour, a.created_at < now - hour)) or 0
    return Health(
        last_seen_at=last_seen,
        worker_missing=last_seen is None or last_seen < now - stale,
        failures_last_hour=last_hour,
        failures_hour_before=hour_before,
        failures_rising=last_hour >= config["OUTBOX_FAILURE_ALERT_MIN"]
        and last_hour > hour_before,
        drains_stalled=stalled,
        drain_error=latest.last_drain_error if latest else "",
        paused_until=max(pauses) if pauses else None,
        idle_leases=idle,
        idle_leases_until=idle_until,
        db_outages=outages,
        configuration_error=_configuration_error(now) if pauses else "",
    )


def _configuration_error(now: datetime) -> str:
    """The latest configuration error (certificate, login) within the longest pause, if no
    message was sent after it."""
    a = _attempts.c
    since = now - timedelta(seconds=current_app.config["OUTBOX_CIRCUIT_BREAKER_MAX_PAUSE_SECONDS"])
    latest = db.session.execute(
        sa.select(a.outcome, a.smtp_text).where(a.created_at >= since)
        .where(a.outcome.in_([Outcome.CONFIGURATION.value, Outcome.SENT.value]))
        .order_by(a.id.desc()).limit(1)).first()
    return latest.smtp_text if latest and latest.outcome == Outcome.CONFIGURATION.value else ""


def page(flt: Filter, before_id: int | None = None,
         limit: int | None = None) -> tuple[list[OutboxMessage], int | None]:
    """One page of messages, newest first, and the id to continue from (keyset: the cost of a
    page does not grow with how far the reader has scrolled)."""
    limit = limit or current_app.config["OUTBOX_PAGE_SIZE"]
    query = (sa.select(OutboxMessage).where(*flt.where())
             .order_by(OutboxMessage.id.desc()).limit(limit + 1))
    if before_id:
        query = query.where(OutboxMessage.id < before_id)
    rows = list(db.session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more else None)


EXPORT_COLUMNS = ("id", "created_at", "state", "to_addr", "subject", "attempts",
                  "sent_at", "last_error", "campaign_id", "trigger_id", "message_id")


def export_rows(flt: Filter, chunk: int = 2000):
    """Every message matching the filter, newest first, as tuples of EXPORT_COLUMNS: plain
    rows read a keyset page at a time, so a million-row outbox streams in flat memory."""
    columns = [_messages.c[name] for name in EXPORT_COLUMNS]
    before = None
    while True:
        query = (sa.select(*columns).where(*flt.where())
                 .order_by(_messages.c.id.desc()).limit(chunk))
        if before is not None:
            query = query.where(_messages.c.id < before)
        rows = db.session.execute(query).all()
        yield from (tuple(row) for row in rows)
        if len(rows) < chunk:
            return
        before = rows[-1][0]


def get(message_id: int) -> OutboxMessage:
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFound(message_id)
    return message


RETRYABLE = (OutboxState.FAILED.value, OutboxState.PENDING.value)
CANCELLABLE = (OutboxState.PENDING.value, OutboxState.FAILED.value)


def count_matching(flt: Filter, states: tuple[str, ...]) -> int:
    m = _messages.c
    return db.session.scalar(sa.select(sa.func.count()).select_from(_messages)
                             .where(*flt.where(), m.state.in_(states))) or 0


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
    audit.record(actor, "outbox.retry", "outbox_message", message.id,
                 f"Retry {message.message_id} to {message.to_addr}", message.campaign_id)
    db.session.commit()
    forget_counts()
    log.info("Message %s retried by %s", message.id, getattr(actor, "email", actor))
    return message


def cancel(actor, message_id: int) -> OutboxMessage:
    """Stop a pending or failed message from being sent."""
    message = get(message_id)
    now = clock.now()
    reason = f"Cancelled by {getattr(actor, 'email', 'system')}"
    if not _changed(message, CANCELLABLE, dict(state=OutboxState.CANCELLED.value,
                                               cancel_reason=reason, updated_at=now)):
        raise ValidationFailed(str(_l("Only a pending or failed message can be cancelled "
                                      "(this one is %(state)s).", state=message.state)))
    audit.record(actor, "outbox.cancel", "outbox_message", message.id,
                 f"Cancel {message.message_id} to {message.to_addr}", message.campaign_id)
    db.session.commit()
    forget_counts()
    log.info("Message %s cancelled by %s", message.id, getattr(actor, "email", actor))
    return message


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


def filter_choices() -> dict[str, list[tuple[int, str]]]:
    """Campaigns, templates and automatic emails (campaign, template, event) to filter by."""
    return {
        "triggers": db.session.execute(
            sa.select(Trigger.id, Campaign.label, EmailTemplate.name, Trigger.event)
            .join(Campaign, Campaign.id == Trigger.campaign_id)
            .join(EmailTemplate, EmailTemplate.id == Trigger.template_id)
            .order_by(Campaign.label, Trigger.event, EmailTemplate.name, Trigger.id)).all(),
        "campaigns": db.session.execute(
            sa.select(Campaign.id, Campaign.label).order_by(Campaign.label)).all(),
        "templates": db.session.execute(
            sa.select(EmailTemplate.id, EmailTemplate.name, EmailTemplate.system_key)
            .order_by(EmailTemplate.name)).all(),
    }


def overview(flt: Filter | None, before_id: int | None = None) -> dict:
    """What the Outbox page shows: counters, health, one page of messages (none without a
    valid filter)."""
    messages, next_before = page(flt, before_id) if flt is not None else ([], None)
    return {"counts": counters(), "health": health(), "messages": messages,
            "next_before": next_before}
