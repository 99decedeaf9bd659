"""The suppression list: addresses Missive no longer writes to, and why.

Hard bounces (a report with a 5.x.x status, or a 5xx to RCPT) and complaints suppress an
address at once; soft bounces count, and SUPPRESSION_SOFT_LIMIT of them within
SUPPRESSION_SOFT_DAYS suppress it for that many days; the count starts again after a message
that reached the address (a delivery report, or accepted by the relay and never bounced). Hard
bounces and complaints never end that way: a later message cannot reach a suppressed address,
and one that did (sent before the entry) says nothing of the reason. An entry ends when an admin
ends it, when the person corrects their address, or when it expires. One-click unsubscribes are
entries too, that only non-transactional mail respects.

`reason_for` is what `message_values` asks for each new row: the first call in a transaction
loads the active entries (a few thousand addresses at most) so that a bulk change of 10,000
applications costs one query, not 10,000. Nothing here commits.
"""

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import orm

from webapp.core import clock
from webapp.extensions import db
from webapp.models import DeliveryReport, ReportKind, Suppression, SuppressionKind
from webapp.models.outbox import OutboxMessage, OutboxState

_CACHE = "missive.suppressed"
_LOAD_ALL_BELOW = 20_000
_s = Suppression.__table__.c


def active(now: datetime | None = None):
    """The condition of an entry in force."""
    now = now or clock.now()
    return sa.and_(_s.ended_at.is_(None), sa.or_(_s.expires_at.is_(None), _s.expires_at > now))


def _cache() -> dict:
    """address -> (kind, reason) of the active entries, or {"*": None} when there are too many
    to load (then each address is looked up)."""
    info = db.session.info
    if _CACHE not in info:
        count = db.session.scalar(sa.select(sa.func.count()).where(active())) or 0
        loaded: dict = {}
        if count < _LOAD_ALL_BELOW:
            for address, kind, reason in db.session.execute(
                    sa.select(_s.address, _s.kind, _s.reason).where(active())
                    .order_by(_s.id)):
                loaded.setdefault(address, (kind, reason))
        else:
            loaded["*"] = None
        info[_CACHE] = loaded
    return info[_CACHE]


def forget() -> None:
    db.session.info.pop(_CACHE, None)
    db.session.info.pop(_PAUSED, None)


_PAUSED = "missive.paused_triggers"


def trigger_paused(trigger_id: int | None) -> bool:
    """Whether the automatic email is paused for its bounce rate (its new emails are held)."""
    if not trigger_id:
        return False
    info = db.session.info
    if _PAUSED not in info:
        from webapp.models import DeliveryPause

        info[_PAUSED] = set(db.session.scalars(sa.select(DeliveryPause.trigger_id)
                                               .where(DeliveryPause.resumed_at.is_(None))))
    return trigger_id in info[_PAUSED]


@sa.event.listens_for(orm.Session, "after_commit")
@sa.event.listens_for(orm.Session, "after_rollback")
def _forget_on_end(session) -> None:
    session.info.pop(_CACHE, None)
    session.info.pop(_PAUSED, None)


def lookup(address: str) -> tuple[str, str] | None:
    """(kind, reason) of the active entry for `address` (normalised), if any."""
    cache = _cache()
    if "*" not in cache:
        return cache.get(address.lower())
    row = db.session.execute(sa.select(_s.kind, _s.reason)
                             .where(_s.address == address.lower(), active())
                             .order_by(_s.id).limit(1)).first()
    return tuple(row) if row else None


def reason_for(address: str, transactional: bool = True) -> str | None:
    """Why a new email to `address` must not go, or None. An unsubscribe stops only
    non-transactional mail."""
    found = lookup(address)
    if found is None:
        return None
    kind, reason = found
    if kind == SuppressionKind.UNSUBSCRIBED and transactional:
        return None
    return reason or kind


def suppress(address: str, kind: SuppressionKind, reason: str, source: str = "",
             report_id: int | None = None, expires_at: datetime | None = None) -> Suppression:
    """Add an entry (or return the one in force, of the same kind) and withdraw the rows still
    waiting for that address: they are shown `suppressed`, with the reason."""
    address = address.lower()
    existing = db.session.scalars(sa.select(Suppression).where(
        Suppression.address == address, Suppression.kind == kind.value, active())).first()
    if existing is not None:
        return existing
    entry = Suppression(address=address, kind=kind.value, reason=reason[:2000],
                        source=source[:255], report_id=report_id, expires_at=expires_at,
                        created_at=clock.now())
    db.session.add(entry)
    if kind != SuppressionKind.UNSUBSCRIBED:
        m = OutboxMessage.__table__.c
        db.session.execute(sa.update(OutboxMessage.__table__)
                           .where(m.to_addr == address,  # stored lower-cased
                                  m.state.in_([OutboxState.PENDING.value,
                                               OutboxState.HELD.value]),
                                  m.is_test.is_(False))
                           .values(state=OutboxState.SUPPRESSED.value,
                                   delivery_detail=reason[:2000], updated_at=clock.now()))
    forget()
    return entry


def end(address: str, reason: str, kinds: tuple[str, ...] | None = None) -> int:
    """End the entries in force for `address`; returns how many."""
    query = sa.update(Suppression.__table__).where(_s.address == address.lower(), active())
    if kinds:
        query = query.where(_s.kind.in_(kinds))
    result = db.session.execute(query.values(ended_at=clock.now(), ended_reason=reason[:2000]))
    forget()
    return result.rowcount


def last_success(address: str, now: datetime | None = None) -> datetime | None:
    """When the last message known to have reached `address` was sent: a delivery report
    said so, or the relay accepted it more than SUPPRESSION_SOFT_QUIET_HOURS ago (about how
    long a relay keeps retrying before it gives up and bounces) and no report came about it."""
    now = now or clock.now()
    address = address.lower()
    r, m = DeliveryReport.__table__.c, OutboxMessage.__table__.c
    quiet = timedelta(hours=current_app.config["SUPPRESSION_SOFT_QUIET_HOURS"])
    accepted = db.session.scalar(sa.select(sa.func.max(m.sent_at)).where(
        m.to_addr == address, m.state == OutboxState.SENT.value, m.delivery == "",
        m.is_test.is_(False), m.sent_at <= now - quiet))
    reported = db.session.scalar(sa.select(sa.func.max(r.created_at)).where(
        r.address == address, r.kind == ReportKind.DELIVERED.value))
    return max((t for t in (accepted, reported) if t is not None), default=None)


def soft_score(address: str, now: datetime | None = None) -> int:
    """Soft bounces of `address` within the window: the score decays as they age out, and
    starts again from zero after a message that reached the address (`last_success`): only
    the bounces of messages sent after it count."""
    now = now or clock.now()
    days = current_app.config["SUPPRESSION_SOFT_DAYS"]
    r, m = DeliveryReport.__table__.c, OutboxMessage.__table__.c
    query = (sa.select(sa.func.count()).select_from(
                 DeliveryReport.__table__.outerjoin(OutboxMessage.__table__,
                                                    m.id == r.message_id))
             .where(r.address == address.lower(), r.kind == ReportKind.SOFT.value,
                    r.created_at >= now - timedelta(days=days)))
    success = last_success(address, now)
    if success is not None:
        query = query.where(sa.func.coalesce(m.sent_at, r.created_at) > success)
    return db.session.scalar(query) or 0


def apply_report(report: DeliveryReport) -> Suppression | None:
    """What a filed report does to the list: hard bounce or complaint, at once; soft
    bounces, once they reach the limit within the window."""
    if not report.address:
        return None
    words = report.diagnostic or report.status
    if report.kind == ReportKind.HARD:
        return suppress(report.address, SuppressionKind.HARD,
                        f"Hard bounce {report.status}: {words}".strip(": "),
                        report.reporter, report.id)
    if report.kind == ReportKind.COMPLAINT:
        return suppress(report.address, SuppressionKind.COMPLAINT,
                        f"Complaint (marked as spam) {report.reporter}".strip(),
                        report.reporter, report.id)
    if report.kind == ReportKind.SOFT:
        config = current_app.config
        score = soft_score(report.address)
        if score >= config["SUPPRESSION_SOFT_LIMIT"]:
            return suppress(report.address, SuppressionKind.SOFT,
                            f"{score} soft bounces in {config['SUPPRESSION_SOFT_DAYS']} days, "
                            f"last {report.status}: {words}".strip(": "),
                            report.reporter, report.id,
                            expires_at=clock.now()
                            + timedelta(days=config["SUPPRESSION_SOFT_DAYS"]))
    return None
