"""The outbox: every email is a row here before it is sent.

Rows are added to the caller's transaction (the event's), never committed here.
"""

import enum
import hashlib
import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from webapp.extensions import db
from webapp.models import OutboxAttempt, OutboxMessage, OutboxState, WorkerHeartbeat
from webapp.services import audit, clock
from webapp.services.errors import NotFound, ValidationFailed

log = logging.getLogger("missive.outbox")

STANDARD_HEADERS = {
    # RFC 3834: tells auto-responders not to answer, and mail clients that no human sent it.
    "Auto-Submitted": "auto-generated",
    "X-Auto-Response-Suppress": "All",
}


def dedupe_key(trigger_id: int | None, event_type: str, event_id: int | str,
               recipient: str) -> str:
    """One email per (trigger, event, recipient): the unique key that refuses a second one."""
    return f"{trigger_id or 0}:{event_type}:{event_id}:{recipient.lower()}"


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
                   not_before: datetime | None = None, held: bool = False) -> dict:
    """The column values of one outbox row, checked: no line break in a header, no oversized
    body. A row born `failed` (rendering failed at fire time) carries its reason. `not_before`
    delays the first attempt; `held` writes the row in the state the worker never claims."""
    for name, value in (("to", to_addr), ("to_name", to_name), ("subject", subject),
                        ("sender", sender), ("reply_to", reply_to), ("cc", cc), ("bcc", bcc)):
        if "\n" in value or "\r" in value:
            raise ValidationFailed(str(_l("Line break in the %(name)s header.", name=name)),
                                   field=name)
    limit = current_app.config["MAIL_MAX_BODY_BYTES"]
    if len(body_html.encode()) + len(body_text.encode()) > limit:
        raise ValidationFailed(str(_l("The message body is larger than %(limit)d bytes.",
                                      limit=limit)), field="body")
    now = clock.now()
    return {
        "dedupe_key": key,
        "message_id": message_id_for(key),
        "state": OutboxState.FAILED.value if failed_reason
        else OutboxState.HELD.value if held else OutboxState.PENDING.value,
        "last_error": failed_reason,
        "to_addr": to_addr, "to_name": to_name, "sender": sender, "reply_to": reply_to,
        "cc": cc, "bcc": bcc, "subject": subject, "body_html": body_html,
        "body_text": body_text, "headers": dict(STANDARD_HEADERS), "locale": locale,
        "is_test": is_test, "event_type": event_type, "event_id": event_id,
        "campaign_id": campaign_id, "application_id": application_id,
        "trigger_id": trigger_id, "template_id": template_id,
        "recipient_user_id": recipient_user_id,
        "attempts": 0, "max_attempts": current_app.config["OUTBOX_MAX_ATTEMPTS"],
        "next_attempt_at": max(now, not_before) if not_before else now,
        "created_at": now, "updated_at": now,
    }


def enqueue(**fields) -> OutboxMessage:
    """Add one message to the caller's session (see message_values for the fields)."""
    message = OutboxMessage(**message_values(**fields))
    db.session.add(message)
    return message


# --- The worker's side: claim due rows, record outcomes, release leases --------------------
#
# The drain is the hot path: it reads and writes plain column values with Core statements, not
# ORM objects, and records a group of outcomes with one executemany per commit.

ATTEMPT_TEXT_LIMIT = 2000
_messages = OutboxMessage.__table__
_attempts = OutboxAttempt.__table__

CLAIM_COLUMNS = ("id", "message_id", "to_addr", "to_name", "cc", "bcc", "sender", "reply_to",
                 "subject", "body_html", "body_text", "headers", "attempts", "max_attempts",
                 "lease_owner")


@dataclass(frozen=True)
class Claimed:
    """One claimed row, as the sender needs it."""

    id: int
    message_id: str
    to_addr: str
    to_name: str
    cc: str
    bcc: str
    sender: str
    reply_to: str
    subject: str
    body_html: str
    body_text: str
    headers: dict
    attempts: int
    max_attempts: int
    lease_owner: str


class Outcome(enum.StrEnum):
    SENT = "sent"
    SUPPRESSED = "suppressed"  # MAIL_SUPPRESS_SEND: recorded as sent, never handed to SMTP
    TEMPORARY = "temporary"
    PERMANENT = "permanent"


@dataclass(frozen=True)
class Result:
    """What happened to one claimed row, with the server's answer."""

    row: Claimed
    outcome: Outcome
    code: int | None = None
    text: str = ""


def backoff_delay(attempt: int, table=None, jitter: float | None = None,
                  rng: random.Random | None = None) -> float:
    """Seconds to wait after the `attempt`-th failure: the table's entry (the last one repeats),
    scaled by a random factor so that rows failed together do not all come back together."""
    config = current_app.config
    table = tuple(table if table is not None else config["OUTBOX_BACKOFF_SECONDS"]) or (0,)
    jitter = config["OUTBOX_BACKOFF_JITTER"] if jitter is None else jitter
    base = table[min(max(attempt, 1), len(table)) - 1]
    return base * (rng or random).uniform(1 - jitter, 1 + jitter)


def claim_due(owner: str, limit: int, now: datetime | None = None,
              due_before: datetime | None = None) -> list[Claimed]:
    """Atomically take up to `limit` due rows, oldest first, leased to `owner`; commits.

    PostgreSQL: `FOR UPDATE SKIP LOCKED`, so concurrent workers pass each other's rows by.
    SQLite: one UPDATE guarded by `state = 'pending'`; SQLite serialises writers, so a row goes
    to whichever claimer's statement runs first and never to both."""
    if limit <= 0:
        return []
    now = now or clock.now()
    lease_until = now + timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    token = f"{owner}/{uuid.uuid4().hex[:8]}"[:100]
    m = _messages.c
    due = sa.and_(m.state == OutboxState.PENDING.value, m.next_attempt_at <= (due_before or now))
    oldest_first = (m.next_attempt_at, m.id)
    leased = dict(state=OutboxState.SENDING.value, lease_owner=token,
                  lease_expires_at=lease_until, updated_at=now)
    session = db.session
    returning = [m[c] for c in CLAIM_COLUMNS]
    if session.get_bind().dialect.name == "postgresql":
        ids = session.scalars(sa.select(m.id).where(due).order_by(*oldest_first).limit(limit)
                              .with_for_update(skip_locked=True)).all()
        rows = session.execute(sa.update(_messages).where(m.id.in_(ids)).values(**leased)
                               .returning(*returning)).all() if ids else []
    else:
        candidates = sa.select(m.id).where(due).order_by(*oldest_first).limit(limit)
        rows = session.execute(sa.update(_messages)
                               .where(m.id.in_(candidates.scalar_subquery()),
                                      m.state == OutboxState.PENDING.value)
                               .values(**leased).returning(*returning)).all()
    session.commit()
    rows.sort(key=lambda row: row.id)  # RETURNING gives no order; ids follow enqueue order
    return [Claimed(*row) for row in rows]


def record_results(results: list[Result], worker: str, now: datetime | None = None) -> None:
    """Write a group of outcomes and their attempt rows in one transaction; commits.

    The update is guarded by the lease owner: a row whose lease was taken over meanwhile keeps
    its new owner's state (its attempt is still logged: it happened)."""
    if not results:
        return
    now = now or clock.now()
    updates, attempts = [], []
    for result in results:
        row = result.row
        number = row.attempts + 1
        text = (result.text or "")[:ATTEMPT_TEXT_LIMIT]
        values = {"b_id": row.id, "b_owner": row.lease_owner, "b_attempts": number,
                  "b_next": None, "b_sent_at": None, "b_now": now,
                  "b_error": f"{result.code} {text}" if result.code else text}
        if result.outcome in (Outcome.SENT, Outcome.SUPPRESSED):
            values.update(b_state=OutboxState.SENT.value, b_sent_at=now, b_error="")
        elif result.outcome is Outcome.TEMPORARY and number < row.max_attempts:
            values.update(b_state=OutboxState.PENDING.value,
                          b_next=now + timedelta(seconds=backoff_delay(number)))
        else:
            values["b_state"] = OutboxState.FAILED.value
        updates.append(values)
        attempts.append({"message_id": row.id, "number": number, "outcome": result.outcome.value,
                         "smtp_code": result.code, "smtp_text": text, "worker": worker[:100],
                         "created_at": now})
        level = (logging.INFO if result.outcome in (Outcome.SENT, Outcome.SUPPRESSED)
                 else logging.WARNING)
        if log.isEnabledFor(level):
            log.log(level, "Message %s attempt %s/%s: %s %s %s", row.id, number,
                    row.max_attempts, result.outcome.value, result.code or "", text)
    connection = db.session.connection()
    _RECORD_OUTCOME.executemany(connection, updates)
    _RECORD_ATTEMPT.executemany(connection, attempts)
    db.session.commit()


class _DriverStatement:
    """A Core statement compiled once per dialect and run on the driver's own cursor, with
    SQLAlchemy's bind processors (so values are stored exactly as SQLAlchemy stores them).
    The drain records every message's outcome, and SQLAlchemy's per-execution work cost about
    as much as the SQLite commit itself."""

    def __init__(self, statement, column_keys: list[str] | None = None):
        self.statement = statement
        self.column_keys = column_keys
        self.compiled: dict[str, tuple] = {}

    def _for(self, dialect) -> tuple:
        found = self.compiled.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect, column_keys=self.column_keys)
            processors = {}
            for bind, name in compiled.bind_names.items():
                processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if processor is not None:
                    processors[name] = processor
            found = (compiled, processors, compiled.positiontup if compiled.positional else None)
            self.compiled[dialect.name] = found
        return found

    def executemany(self, connection: sa.Connection, rows: list[dict]) -> None:
        compiled, processors, positions = self._for(connection.dialect)
        parameters = []
        for row in rows:
            values = compiled.construct_params(row)
            for name, processor in processors.items():
                values[name] = processor(values[name])
            parameters.append([values[name] for name in positions] if positions else values)
        cursor = connection.connection.driver_connection.cursor()
        try:
            cursor.executemany(compiled.string, parameters)
        finally:
            cursor.close()


_m = _messages.c
_RECORD_OUTCOME = _DriverStatement(
    sa.update(_messages)
    .where(_m.id == sa.bindparam("b_id"), _m.lease_owner == sa.bindparam("b_owner"),
           _m.state == OutboxState.SENDING.value)
    .values(state=sa.bindparam("b_state"), attempts=sa.bindparam("b_attempts"),
            next_attempt_at=sa.func.coalesce(sa.bindparam("b_next", type_=sa.DateTime),
                                             _m.next_attempt_at),
            sent_at=sa.bindparam("b_sent_at", type_=sa.DateTime),
            last_error=sa.bindparam("b_error"), lease_owner=None, lease_expires_at=None,
            updated_at=sa.bindparam("b_now", type_=sa.DateTime)))
_RECORD_ATTEMPT = _DriverStatement(
    sa.insert(_attempts),
    ["message_id", "number", "outcome", "smtp_code", "smtp_text", "worker", "created_at"])


def release(rows: list[Claimed], not_before: datetime | None = None) -> int:
    """Give claimed rows back without spending an attempt (the run stopped early); commits."""
    if not rows:
        return 0
    now = clock.now()
    m = _messages.c
    values = dict(state=OutboxState.PENDING.value, lease_owner=None, lease_expires_at=None,
                  updated_at=now)
    if not_before is not None:
        values["next_attempt_at"] = not_before
    result = db.session.execute(
        sa.update(_messages)
        .where(m.id.in_([r.id for r in rows]), m.state == OutboxState.SENDING.value)
        .values(**values))
    db.session.commit()
    return result.rowcount


def extend_leases(rows: list[Claimed], now: datetime | None = None) -> None:
    """Push the lease of rows still being sent further, so a long batch is not reaped."""
    if not rows:
        return
    now = now or clock.now()
    m = _messages.c
    db.session.execute(
        sa.update(_messages)
        .where(m.id.in_([r.id for r in rows]), m.state == OutboxState.SENDING.value)
        .values(lease_expires_at=now + timedelta(
            seconds=current_app.config["OUTBOX_LEASE_SECONDS"])))
    db.session.commit()


def release_expired_leases(now: datetime | None = None) -> int:
    """Return rows whose worker vanished mid-batch to pending; commits. Their attempt is not
    spent: whether the server got the message is unknown (at most that one is sent twice)."""
    now = now or clock.now()
    m = _messages.c
    result = db.session.execute(
        sa.update(_messages)
        .where(m.state == OutboxState.SENDING.value, m.lease_expires_at < now)
        .values(state=OutboxState.PENDING.value, lease_owner=None, lease_expires_at=None,
                updated_at=now))  # next_attempt_at is already past: due again at once
    db.session.commit()
    if result.rowcount:
        log.warning("Released %s messages whose lease expired", result.rowcount)
    return result.rowcount


def attempts_since(moment: datetime) -> int:
    """Messages handed to the server since `moment`, accepted or not (the rate limit's
    window: providers count what they are offered)."""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(_attempts)
        .where(_attempts.c.created_at >= moment,
               _attempts.c.outcome != Outcome.SUPPRESSED.value)
    ) or 0


def purge(now: datetime | None = None) -> int:
    """Delete sent and cancelled rows older than the retention, in batches; commits each."""
    config = current_app.config
    now = now or clock.now()
    cutoff = now - timedelta(days=config["OUTBOX_RETENTION_DAYS"])
    m = _messages.c
    total = 0
    while True:
        ids = db.session.scalars(
            sa.select(m.id).where(m.state.in_([OutboxState.SENT.value,
                                               OutboxState.CANCELLED.value]),
                                  m.updated_at < cutoff)
            .order_by(m.id).limit(config["OUTBOX_PURGE_BATCH_SIZE"])).all()
        if not ids:
            break
        db.session.execute(sa.update(_messages).where(m.resent_from_id.in_(ids))
                           .values(resent_from_id=None))
        db.session.execute(sa.delete(_attempts).where(_attempts.c.message_id.in_(ids)))
        db.session.execute(sa.delete(_messages).where(m.id.in_(ids)))
        db.session.commit()
        total += len(ids)
    if total:
        log.info("Purged %s old outbox messages", total)
    return total


def beat(worker: str, *, drained: bool = False, sent: int = 0) -> None:
    """Note that `worker` is alive (and, after a drain, when it drained and how much)."""
    try:
        _beat(worker, drained, sent)
    except sa.exc.IntegrityError:  # the worker's other job created the row meanwhile
        db.session.rollback()
        _beat(worker, drained, sent)


def _beat(worker: str, drained: bool, sent: int) -> None:
    now = clock.now()
    heartbeat = db.session.get(WorkerHeartbeat, worker)
    if heartbeat is None:
        heartbeat = WorkerHeartbeat(worker=worker, started_at=now, sent_total=0)
        db.session.add(heartbeat)
    heartbeat.last_seen_at = now
    if drained:
        heartbeat.last_drain_at = now
        heartbeat.sent_total = (heartbeat.sent_total or 0) + sent
    db.session.commit()


def forget_worker(worker: str) -> None:
    """A worker stopping cleanly removes its heartbeat row."""
    db.session.execute(sa.delete(WorkerHeartbeat).where(WorkerHeartbeat.worker == worker))
    db.session.commit()


# --- The sysadmin's side: counters, health, the filtered list, actions ---------------------


@dataclass(frozen=True)
class Filter:
    """The Outbox page's filter; every field optional."""

    state: str = ""
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
                pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace(
                    "_", "\\_") + "%"
                clauses.append(sa.or_(m.subject.ilike(pattern, escape="\\"),
                                      m.to_addr.ilike(pattern, escape="\\")))
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


def _forget_counts() -> None:
    _counts_cache.clear()


@dataclass(frozen=True)
class Health:
    last_seen_at: datetime | None
    worker_missing: bool
    failures_last_hour: int
    failures_hour_before: int
    failures_rising: bool


def health() -> Health:
    """Whether a worker was seen lately, and whether failed attempts are rising."""
    config = current_app.config
    now = clock.now()
    last_seen = db.session.scalar(sa.select(sa.func.max(WorkerHeartbeat.last_seen_at)))
    stale = timedelta(seconds=config["OUTBOX_WORKER_STALE_SECONDS"])
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
    )


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
    """Make a failed or pending message due at once."""
    message = get(message_id)
    if not _changed(message, RETRYABLE, _retry_values(clock.now())):
        raise ValidationFailed(str(_l("Only a failed or pending message can be retried "
                                      "(this one is %(state)s).", state=message.state)))
    audit.record(actor, "outbox.retry", "outbox_message", message.id,
                 f"Retry {message.message_id} to {message.to_addr}", message.campaign_id)
    db.session.commit()
    _forget_counts()
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
    _forget_counts()
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
    values = message_values(
        key=key, to_addr=original.to_addr, to_name=original.to_name, sender=original.sender,
        reply_to=original.reply_to, cc=original.cc, bcc=original.bcc,
        subject=original.subject, body_html=original.body_html, body_text=original.body_text,
        locale=original.locale, event_type=original.event_type, event_id=original.event_id,
        campaign_id=original.campaign_id, application_id=original.application_id,
        trigger_id=original.trigger_id, template_id=original.template_id,
        recipient_user_id=original.recipient_user_id, is_test=original.is_test)
    values["headers"] = dict(original.headers or STANDARD_HEADERS)
    copy = OutboxMessage(**values, resent_from_id=original.id)
    db.session.add(copy)
    db.session.flush()
    audit.record(actor, "outbox.resend", "outbox_message", copy.id,
                 f"Resend of message {original.id} to {original.to_addr}", original.campaign_id)
    db.session.commit()
    _forget_counts()
    log.info("Message %s resent as %s by %s", original.id, copy.id,
             getattr(actor, "email", actor))
    return copy


def bulk_retry(actor, flt: Filter) -> int:
    """Retry every failed or pending message matching the filter."""
    now = clock.now()
    result = db.session.execute(sa.update(_messages)
                                .where(*flt.where(), _messages.c.state.in_(RETRYABLE))
                                .values(**_retry_values(now)))
    audit.record(actor, "outbox.bulk_retry", "outbox_message", None,
                 f"Retry {result.rowcount} messages ({_describe(flt)})", flt.campaign_id)
    db.session.commit()
    _forget_counts()
    log.info("%s messages retried by %s", result.rowcount, getattr(actor, "email", actor))
    return result.rowcount


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
    _forget_counts()
    log.info("%s messages cancelled by %s", result.rowcount, getattr(actor, "email", actor))
    return result.rowcount


def _describe(flt: Filter) -> str:
    parts = [f"{name}={value}" for name, value in flt.__dict__.items() if value]
    return ", ".join(parts) or "all"


def filter_choices() -> dict[str, list[tuple[int, str]]]:
    """Campaigns and templates to filter by."""
    from webapp.models import Campaign, EmailTemplate

    return {
        "campaigns": db.session.execute(
            sa.select(Campaign.id, Campaign.label).order_by(Campaign.label)).all(),
        "templates": db.session.execute(
            sa.select(EmailTemplate.id, EmailTemplate.name).order_by(EmailTemplate.name)).all(),
    }


def overview(flt: Filter | None, before_id: int | None = None) -> dict:
    """What the Outbox page shows: counters, health, one page of messages (none without a
    valid filter)."""
    messages, next_before = page(flt, before_id) if flt is not None else ([], None)
    return {"counts": counters(), "health": health(), "messages": messages,
            "next_before": next_before}
