"""What the sysadmin's Outbox page reads: counters, health, the filtered list (keyset pages,
a streamed export), one message. Queries only, never a commit; the actions are in actions.py.
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from webapp.core import clock
from webapp.core.errors import NotFound
from webapp.core.paging import Page, keyset_page
from webapp.extensions import db
from webapp.models import Campaign, EmailTemplate, Trigger
from webapp.models.outbox import OutboxAttempt, OutboxMessage, OutboxState, WorkerHeartbeat
from webapp.outbox.circuit import MAX_PAUSE_SECONDS
from webapp.outbox.queue import Outcome

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
    since = now - timedelta(seconds=MAX_PAUSE_SECONDS)
    latest = db.session.execute(
        sa.select(a.outcome, a.smtp_text).where(a.created_at >= since)
        .where(a.outcome.in_([Outcome.CONFIGURATION.value, Outcome.SENT.value]))
        .order_by(a.id.desc()).limit(1)).first()
    return latest.smtp_text if latest and latest.outcome == Outcome.CONFIGURATION.value else ""


def page(flt: Filter, before_id: int | None = None, limit: int | None = None) -> Page:
    """One page of messages, newest first, by keyset (`before` the last one shown: the cost
    of a page does not grow with how far the reader has scrolled)."""
    limit = limit or current_app.config["OUTBOX_PAGE_SIZE"]
    query = (sa.select(OutboxMessage).where(*flt.where())
             .order_by(OutboxMessage.id.desc()).limit(limit + 1))
    if before_id:
        query = query.where(OutboxMessage.id < before_id)
    return keyset_page(list(db.session.scalars(query)), limit, lambda m: m.id, "before",
                       started=bool(before_id))


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


def count_matching(flt: Filter, states: tuple[str, ...]) -> int:
    m = _messages.c
    return db.session.scalar(sa.select(sa.func.count()).select_from(_messages)
                             .where(*flt.where(), m.state.in_(states))) or 0


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
    listing = page(flt, before_id) if flt is not None else Page(rows=[])
    return {"counts": counters(), "health": health(), "listing": listing}
