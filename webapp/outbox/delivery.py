"""After the relay, as people see it: per automatic email, what bounced and what was
complained about; the pauses and the suppression list, and the actions on them (each commits,
with its audit entry)."""

from datetime import datetime

import sqlalchemy as sa

from webapp.core import audit, clock
from webapp.core.addresses import recipient_address
from webapp.core.errors import NotFound
from webapp.extensions import db
from webapp.models import (
    Campaign,
    DeliveryPause,
    DeliveryReport,
    EmailTemplate,
    ReportKind,
    Suppression,
    Trigger,
)
from webapp.models.outbox import OutboxMessage, OutboxState
from webapp.outbox import suppression

_m = OutboxMessage.__table__.c


def per_automatic_email(limit: int = 50) -> list[dict]:
    """Automatic emails with a bounce or a complaint: sends, bounces, complaints."""
    rows = db.session.execute(
        sa.select(_m.trigger_id, sa.func.count().filter(_m.sent_at.is_not(None)),
                  sa.func.count().filter(_m.delivery == "bounced"),
                  sa.func.count().filter(_m.delivery == "complained"))
        .where(_m.trigger_id.is_not(None))
        .group_by(_m.trigger_id)
        .having(sa.func.count().filter(_m.delivery.in_(["bounced", "complained"])) > 0)
        .order_by(sa.func.count().filter(_m.delivery == "bounced").desc())
        .limit(limit)).all()
    names = _trigger_names([row[0] for row in rows])
    return [{"trigger_id": t, "name": names.get(t, str(t)), "sent": sent, "bounced": bounced,
             "complained": complained} for t, sent, bounced, complained in rows]


def _trigger_names(ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(Trigger.id, EmailTemplate.name, Campaign.label)
        .join(EmailTemplate, EmailTemplate.id == Trigger.template_id)
        .join(Campaign, Campaign.id == Trigger.campaign_id)
        .where(Trigger.id.in_(ids))).all()
    return {tid: f"{name} — {label}" for tid, name, label in rows}


def active_pauses() -> list[dict]:
    pauses = list(db.session.scalars(sa.select(DeliveryPause)
                                     .where(DeliveryPause.resumed_at.is_(None))
                                     .order_by(DeliveryPause.id)))
    names = _trigger_names([p.trigger_id for p in pauses])
    return [{"id": p.id, "trigger_id": p.trigger_id, "name": names.get(p.trigger_id, ""),
             "bounced": p.bounced, "sends": p.sends, "since": p.created_at} for p in pauses]


def resume(actor, pause_id: int) -> int:
    """End a pause and release what it held; returns how many emails were released."""
    pause = db.session.get(DeliveryPause, pause_id)
    if pause is None or pause.resumed_at is not None:
        raise NotFound()
    pause.resumed_at = clock.now()
    pause.resumed_by_id = actor.id if actor else None
    trigger = db.session.get(Trigger, pause.trigger_id)
    released = 0
    if trigger is not None and not getattr(trigger, "hold_for_review", False):
        released = db.session.execute(
            sa.update(OutboxMessage.__table__)
            .where(_m.trigger_id == pause.trigger_id, _m.state == OutboxState.HELD.value,
                   _m.created_at >= pause.created_at)
            .values(state=OutboxState.PENDING.value, next_attempt_at=clock.now(),
                    updated_at=clock.now())).rowcount
    audit.record(actor, "delivery.resume", "trigger", pause.trigger_id,
                 f"Resumed after {pause.bounced} hard bounces in {pause.sends} sends; "
                 f"{released} emails released",
                 campaign_id=trigger.campaign_id if trigger else None)
    suppression.forget()
    db.session.commit()
    return released


def unknown_messages(limit: int = 20) -> list[DeliveryReport]:
    return list(db.session.scalars(
        sa.select(DeliveryReport).where(DeliveryReport.kind == ReportKind.UNKNOWN.value)
        .order_by(DeliveryReport.id.desc()).limit(limit)))


def suppressed_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).where(suppression.active())) or 0


def export_suppressed():
    """Every entry in force, oldest first, as CSV rows."""
    query = (sa.select(Suppression.address, Suppression.kind, Suppression.reason,
                       Suppression.source, Suppression.created_at, Suppression.expires_at)
             .where(suppression.active()).order_by(Suppression.id))
    yield from db.session.execute(query.execution_options(yield_per=2000))


def end_suppression(actor, address: str, reason: str = "Ended by an administrator") -> int:
    ended = suppression.end(address, reason)
    if ended:
        audit.record(actor, "delivery.unsuppress", "address", None, f"{address}: {reason}")
    db.session.commit()
    return ended


def unsuppress(actor, message_id: int) -> OutboxMessage:
    """An admin vouches for the address of a suppressed row: its entries end (audited) and the
    address's suppressed rows are queued again; commits."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.state != OutboxState.SUPPRESSED.value:
        raise NotFound()
    address = message.to_addr.lower()
    ended = suppression.end(address, f"Ended by an administrator (message {message.id})")
    now = clock.now()
    queued = db.session.execute(
        sa.update(OutboxMessage.__table__)
        .where(_m.to_addr == address, _m.state == OutboxState.SUPPRESSED.value)
        .values(state=OutboxState.PENDING.value, delivery_detail="", next_attempt_at=now,
                updated_at=now)).rowcount
    audit.record(actor, "delivery.unsuppress", "outbox_message", message.id,
                 f"{address}: {ended} entries ended, {queued} emails queued again",
                 campaign_id=message.campaign_id)
    db.session.commit()
    return message


def suppressed_reason(address: str) -> str | None:
    """Why mail to `address` does not go (any entry in force but an unsubscribe), if so."""
    found = suppression.lookup(address) if address else None
    if found is None or found[0] == "unsubscribed":
        return None
    return found[1] or found[0]


def requeue_for(user_id: int, old_address: str, new_address: str,
                now: datetime | None = None) -> int:
    """The person corrected their address: the rows suppressed for the old one are written to
    the new one and queued again (in the caller's transaction). Returns how many."""
    new = recipient_address(new_address)
    if suppression.reason_for(new) is not None:
        return 0
    now = now or clock.now()
    old = old_address.lower()
    result = db.session.execute(
        sa.update(OutboxMessage.__table__)
        .where(_m.state == OutboxState.SUPPRESSED.value,
               sa.or_(_m.recipient_user_id == user_id, _m.to_addr == old))
        .values(to_addr=new, state=OutboxState.PENDING.value, delivery="",
                delivery_detail="", next_attempt_at=now, updated_at=now))
    return result.rowcount


def unsubscribe(token: str, how: str) -> str | None:
    """One-click unsubscribe from non-transactional mail (idempotent, audited); commits.
    Returns the address, or None when the token was not made here."""
    from webapp.models import SuppressionKind
    from webapp.outbox import one_click as links

    address = links.address_of(token)
    if address is None:
        return None
    found = suppression.lookup(address)
    if found is None or found[0] != SuppressionKind.UNSUBSCRIBED.value:
        suppression.suppress(address, SuppressionKind.UNSUBSCRIBED,
                             "Unsubscribed from reminders", how)
        audit.record(None, "delivery.unsubscribe", "address", None, f"{address} ({how})")
    db.session.commit()
    return address


def unsubscribe_address(token: str) -> str | None:
    """The address an unsubscribe link names (for its confirmation page)."""
    from webapp.outbox import one_click as links

    return links.address_of(token)
