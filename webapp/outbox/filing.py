"""Filing what came back after the relay against its outbox row: a report read from the bounce
mailbox (`file_message`), or a 5xx to RCPT (`file_rcpt_refusals`, in the drain's transaction).
A hard bounce or a complaint marks its row and suppresses the address; a soft bounce marks the
row and counts towards a soft suppression; a delay is noted; an auto-reply is ignored; a message
not understood, or naming no row of ours (a forged bounce must not suppress anyone), is filed
`unknown`. An automatic email whose hard bounces pass BOUNCE_PAUSE_RATE is paused. Nothing here
commits.
"""

import logging
import re

import sqlalchemy as sa
from flask import current_app

from webapp.core import clock
from webapp.extensions import db
from webapp.models import DeliveryPause, DeliveryReport, ReportKind, Suppression, SuppressionKind
from webapp.models.outbox import OutboxMessage, OutboxState
from webapp.outbox import dsn, suppression, verp

log = logging.getLogger("missive.bounces")

_DELIVERY = {ReportKind.HARD: "bounced", ReportKind.SOFT: "bounced",
             ReportKind.COMPLAINT: "complained", ReportKind.DELAYED: "delayed"}
_m = OutboxMessage.__table__.c


def _row(row_id: int | None):
    if row_id is None:
        return None
    return db.session.execute(
        sa.select(_m.id, _m.to_addr, _m.trigger_id, _m.delivery).where(_m.id == row_id)).first()


def file_message(raw: bytes, *, folder: str | None = None, uidvalidity: int | None = None,
                 uid: int | None = None, secret: str | None = None) -> list[DeliveryReport]:
    """File one message of the bounce mailbox (in the caller's transaction)."""
    secret = secret if secret is not None else str(current_app.config["SECRET_KEY"] or "")
    unsubscribed = _unsubscribe_request(raw, secret)
    if unsubscribed is not None:
        return [unsubscribed]
    parsed = dsn.parse(raw, secret)
    row = _row(parsed.row_id)
    kind = parsed.kind
    if kind in ("hard", "soft", "complaint", "delayed", "delivered") and row is None:
        kind = "unknown"  # names no row of ours: listed, never acted on
    recipients = parsed.recipients or [dsn.Recipient("", "", "", "")]
    if kind in ("unknown", "autoreply"):
        recipients = recipients[:1]
    reports = []
    for index, recipient in enumerate(recipients):
        report = DeliveryReport(
            kind=_recipient_kind(kind, recipient), message_id=row.id if row else None,
            # What Missive sent to: a forwarded address's final recipient is not ours to list.
            address=(row.to_addr.lower() if row else recipient.address)[:254],
            status=recipient.status[:12], diagnostic=recipient.diagnostic[:4000],
            reporter=parsed.reporter[:255], subject=parsed.subject[:300],
            from_header=parsed.from_header[:300], folder=folder if index == 0 else None,
            uidvalidity=uidvalidity if index == 0 else None, uid=uid if index == 0 else None,
            created_at=clock.now())
        db.session.add(report)
        reports.append(report)
        if row is None or report.kind in ("unknown", "autoreply"):
            continue
        db.session.flush()
        _apply(report, row)
    return reports


def file_messages(items: list[tuple[int, bytes]], *, folder: str, uidvalidity: int,
                  secret: str) -> list[list[str]]:
    """File a chunk of the mailbox's messages (uid, bytes) in the caller's transaction; returns
    the kinds filed for each. Plain hard bounces about our rows (nearly all of a big batch)
    are written with a few statements for the whole chunk; the rest one by one."""
    parsed = []
    for uid, raw in items:
        found = None if _UNSUBSCRIBE_TO.search(raw.split(b"\r\n\r\n", 1)[0]) \
            else dsn.parse(raw, secret)
        parsed.append((uid, raw, found))
    ids = {p.row_id for _, _, p in parsed if p is not None and p.row_id is not None}
    rows = {}
    for start in range(0, len(ids), 500):
        chunk = list(ids)[start:start + 500]
        rows.update({row.id: row for row in db.session.execute(
            sa.select(_m.id, _m.to_addr, _m.trigger_id, _m.delivery).where(_m.id.in_(chunk)))})
    kinds: list[list[str]] = []
    hard: list[dict] = []
    for uid, raw, found in parsed:
        row = rows.get(found.row_id) if found is not None else None
        if (found is not None and row is not None and found.kind == "hard"
                and len(found.recipients) == 1 and found.recipients[0].action == "failed"
                and found.recipients[0].status.startswith("5")):
            recipient = found.recipients[0]
            hard.append({"row": row, "uid": uid, "status": recipient.status[:12],
                         "diagnostic": recipient.diagnostic[:4000],
                         "reporter": found.reporter[:255], "subject": found.subject,
                         "from_header": found.from_header})
            kinds.append(["hard"])
        else:
            kinds.append([r.kind for r in file_message(raw, folder=folder,
                                                       uidvalidity=uidvalidity, uid=uid,
                                                       secret=secret)])
    if hard:
        _file_hard_bounces(hard, folder, uidvalidity)
    return kinds


def _file_hard_bounces(bounces: list[dict], folder: str, uidvalidity: int) -> None:
    now = clock.now()
    db.session.execute(sa.insert(DeliveryReport.__table__), [
        {"kind": ReportKind.HARD.value, "message_id": b["row"].id,
         "address": b["row"].to_addr.lower()[:254], "status": b["status"],
         "diagnostic": b["diagnostic"], "reporter": b["reporter"], "subject": b["subject"],
         "from_header": b["from_header"], "folder": folder, "uidvalidity": uidvalidity,
         "uid": b["uid"], "created_at": now} for b in bounces])
    for b in bounces:
        b["detail"] = dsn.words(b["status"], b["diagnostic"])[:2000]
    db.session.execute(
        sa.update(OutboxMessage.__table__).where(_m.id == sa.bindparam("b_id"))
        .values(delivery="bounced", delivery_detail=sa.bindparam("b_detail"), updated_at=now),
        [{"b_id": b["row"].id, "b_detail": b["detail"]} for b in bounces])
    reasons: dict[str, tuple[str, str]] = {}
    for b in bounces:
        reasons.setdefault(b["row"].to_addr.lower(), (f"Bounced: {b['detail']}"[:2000],
                                                      b["reporter"] or "bounce"))
    s = Suppression.__table__.c
    listed: set[str] = set()
    addresses = list(reasons)
    for start in range(0, len(addresses), 500):
        listed.update(db.session.scalars(sa.select(s.address).where(
            s.address.in_(addresses[start:start + 500]), s.kind == SuppressionKind.HARD.value,
            suppression.active(now))))
    new = [address for address in addresses if address not in listed]
    if new:
        db.session.execute(sa.insert(Suppression.__table__), [
            {"address": address, "kind": SuppressionKind.HARD.value,
             "reason": reasons[address][0], "source": reasons[address][1][:255],
             "created_at": now, "ended_reason": ""} for address in new])
        db.session.execute(
            sa.update(OutboxMessage.__table__)
            .where(_m.to_addr == sa.bindparam("b_address"),
                   # no IN in an executemany
                   sa.or_(_m.state == OutboxState.PENDING.value,
                          _m.state == OutboxState.HELD.value),
                   _m.is_test.is_(False))
            .values(state=OutboxState.SUPPRESSED.value,
                    delivery_detail=sa.bindparam("b_reason"), updated_at=now),
            [{"b_address": address, "b_reason": reasons[address][0]} for address in new])
    suppression.forget()
    for trigger_id in {b["row"].trigger_id for b in bounces if b["row"].trigger_id}:
        check_bounce_rate(trigger_id)


_UNSUBSCRIBE_TO = re.compile(rb"^(?:To|Delivered-To|X-Original-To):[^\r\n]*\+unsubscribe-"
                             rb"(\d{1,18}-[0-9a-fA-F]{16})@", re.IGNORECASE | re.MULTILINE)


def _unsubscribe_request(raw: bytes, secret: str) -> DeliveryReport | None:
    """A mail to the List-Unsubscribe mailto address (bounces+unsubscribe-<ref>@...): the
    row's recipient is unsubscribed from non-transactional mail."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    match = _UNSUBSCRIBE_TO.search(head)
    row = _row(verp.row_of(match.group(1).decode(), secret)) if match else None
    if row is None:
        return None
    report = DeliveryReport(kind=ReportKind.UNSUBSCRIBE.value, message_id=row.id,
                            address=row.to_addr.lower(), reporter="mailto",
                            created_at=clock.now())
    db.session.add(report)
    suppression.suppress(row.to_addr, SuppressionKind.UNSUBSCRIBED,
                         "Unsubscribed from reminders", "mailto")
    return report


def _recipient_kind(kind: str, recipient: dsn.Recipient) -> str:
    if kind in ("hard", "soft", "delayed", "delivered") and recipient.action:
        if recipient.action == "failed":
            return "hard" if recipient.status.startswith("5") or not recipient.status \
                else "soft"
        if recipient.action == "delayed":
            return "delayed"
        if recipient.action in ("delivered", "relayed", "expanded"):
            return "delivered"
    return kind


def _apply(report: DeliveryReport, row) -> None:
    """What a report about one of our rows changes: the row's delivery, the list, the pause."""
    kind = ReportKind(report.kind)
    if kind is ReportKind.DELIVERED:
        suppression.end(report.address, "Delivered later", (SuppressionKind.SOFT.value,))
        return
    delivery = _DELIVERY[kind]
    if kind is ReportKind.DELAYED and row.delivery:
        return  # a delay never hides a bounce already known
    detail = dsn.words(report.status, report.diagnostic) if kind is not ReportKind.COMPLAINT \
        else "marked as spam by the recipient"
    db.session.execute(sa.update(OutboxMessage.__table__).where(_m.id == row.id)
                       .values(delivery=delivery, delivery_detail=detail[:2000],
                               updated_at=clock.now()))
    if kind is ReportKind.HARD:
        suppression.suppress(report.address, SuppressionKind.HARD,
                             f"Bounced: {detail}", report.reporter or "bounce", report.id)
        if row.trigger_id:
            check_bounce_rate(row.trigger_id)
    else:
        suppression.apply_report(report)


def file_rcpt_refusals(results) -> None:
    """Rows whose recipient the relay refused with a 5xx: a hard bounce at once (in the
    drain's transaction)."""
    if current_app.config.get("MAIL_REDIRECT_ALL_TO"):
        return  # the address refused was the redirect's, not the person's
    for result in results:
        row = result.row
        status = re.search(r"\b5\.\d{1,3}\.\d{1,3}\b", result.text or "")
        report = DeliveryReport(kind=ReportKind.HARD.value, message_id=row.id,
                                address=row.to_addr.lower()[:254],
                                status=status.group(0) if status else str(result.code or ""),
                                diagnostic=f"{result.code} {result.text}"[:4000],
                                reporter="relay (RCPT)", created_at=clock.now())
        db.session.add(report)
        db.session.flush()
        detail = dsn.words(report.status if status else "5.0.0", f"{result.code} {result.text}")
        db.session.execute(sa.update(OutboxMessage.__table__).where(_m.id == row.id)
                           .values(delivery="bounced", delivery_detail=detail[:2000]))
        suppression.suppress(report.address, SuppressionKind.HARD, f"Refused: {detail}",
                             "relay (RCPT)", report.id)
        trigger_id = db.session.scalar(sa.select(_m.trigger_id).where(_m.id == row.id))
        if trigger_id:
            check_bounce_rate(trigger_id)


# --- Pausing an automatic email -------------------------------------------------------------


def active_pause(trigger_id: int) -> DeliveryPause | None:
    return db.session.scalars(sa.select(DeliveryPause).where(
        DeliveryPause.trigger_id == trigger_id, DeliveryPause.resumed_at.is_(None))).first()


def check_bounce_rate(trigger_id: int, window: int = 100) -> DeliveryPause | None:
    """Pause the automatic email when its hard bounces over its last `window` sends pass
    BOUNCE_PAUSE_RATE (and at least 5 of them: two bounces in three sends is chance)."""
    if active_pause(trigger_id) is not None:
        return None
    last = (sa.select(_m.id, _m.delivery)
            .where(_m.trigger_id == trigger_id, _m.state.in_([OutboxState.SENT.value,
                                                               OutboxState.FAILED.value]),
                   _m.sent_at.is_not(None) | (_m.delivery == "bounced"))
            .order_by(_m.id.desc()).limit(window).subquery())
    sends, bounced = db.session.execute(sa.select(
        sa.func.count(), sa.func.count().filter(last.c.delivery == "bounced"))).one()
    rate = current_app.config["BOUNCE_PAUSE_RATE"]
    if bounced < 5 or not sends or bounced / sends <= rate:
        return None
    pause = DeliveryPause(trigger_id=trigger_id, bounced=bounced, sends=sends,
                          created_at=clock.now())
    db.session.add(pause)
    suppression.forget()
    log.warning("Automatic email %s paused: %s hard bounces in its last %s sends",
                trigger_id, bounced, sends)
    return pause


