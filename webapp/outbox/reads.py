"""What services ask of the outbox's rows, read only: whether an email is on its way, the
emails of an application, which keys are already queued, the held rows, what each trigger
sent, the emails a candidate received, the applications a reminder's waiting rows are about.
Services read the table through these, never `OutboxMessage` itself (the import contract
`outbox-table`)."""

from datetime import datetime

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import Application, EventType, StatusChange
from webapp.models.outbox import OutboxMessage, OutboxState

_m = OutboxMessage.__table__.c
# Keys per IN (...): within every driver's limit on bound parameters.
CHUNK = 500


def count_since(recipient_user_id: int, event_type: str, since: datetime) -> int:
    """How many emails of `event_type` were queued for this user since `since`."""
    return db.session.scalar(sa.select(sa.func.count(_m.id)).where(
        _m.recipient_user_id == recipient_user_id, _m.event_type == event_type,
        _m.created_at >= since)) or 0


def queued_about(application_id: int, event_type: str, recipient_user_id: int) -> bool:
    """Whether an email (not a test) about this application's `event_type` was queued for
    this user."""
    return db.session.scalar(sa.select(sa.exists().where(
        _m.application_id == application_id, _m.event_type == event_type,
        _m.recipient_user_id == recipient_user_id, _m.is_test.is_(False)))) or False


def of_application(application_id: int) -> list[OutboxMessage]:
    """Every email (not a test) an application caused, newest first."""
    return list(db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.application_id == application_id,
                                       OutboxMessage.is_test.is_(False))
        .order_by(OutboxMessage.id.desc())))


def known_keys(keys: list[str]) -> set[str]:
    """The dedupe keys among `keys` that a row already holds."""
    found: set[str] = set()
    for start in range(0, len(keys), CHUNK):
        found.update(db.session.scalars(
            sa.select(_m.dedupe_key).where(_m.dedupe_key.in_(keys[start:start + CHUNK]))))
    return found


def held_rows(campaign_id: int | None = None):
    """(id, campaign_id, trigger_id, to_status_id, template_id, to_addr, to_name,
    application_id, reference) of every held row, of one campaign or all, oldest first; the
    status is the one a status-change email announces."""
    changes, apps = StatusChange.__table__.c, Application.__table__.c
    query = (sa.select(_m.id, _m.campaign_id, _m.trigger_id, changes.to_status_id,
                       _m.template_id, _m.to_addr, _m.to_name, _m.application_id,
                       apps.reference)
             .select_from(OutboxMessage.__table__)
             .outerjoin(StatusChange.__table__,
                        sa.and_(changes.id == _m.event_id,
                                _m.event_type == EventType.STATUS_CHANGED.value))
             .outerjoin(Application.__table__, apps.id == _m.application_id)
             .where(_m.state == OutboxState.HELD.value).order_by(_m.id))
    if campaign_id is not None:
        query = query.where(_m.campaign_id == campaign_id)
    return db.session.execute(query).all()


def sent_per_trigger(campaign_id: int) -> dict[int, tuple[int, datetime | None]]:
    """How many emails each trigger of the campaign has sent, and when last (one query)."""
    rows = db.session.execute(
        sa.select(_m.trigger_id, sa.func.count(), sa.func.max(_m.sent_at))
        .where(_m.campaign_id == campaign_id, _m.trigger_id.is_not(None),
               _m.state == OutboxState.SENT.value)
        .group_by(_m.trigger_id))
    return {trigger_id: (count, last) for trigger_id, count, last in rows}


def message(message_id: int) -> OutboxMessage | None:
    """One row, or None."""
    return db.session.get(OutboxMessage, message_id)


def sent_about(application_id: int, recipient_user_id: int) -> list[OutboxMessage]:
    """The emails sent to this user about this application, newest first."""
    return list(db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.application_id == application_id,
                                       OutboxMessage.recipient_user_id == recipient_user_id,
                                       OutboxMessage.state == OutboxState.SENT.value)
        .order_by(OutboxMessage.id.desc())))


def waiting_applications(event_type: str, event_id: int) -> list[int]:
    """The applications that rows of this event still waiting (pending or held) are about."""
    return list(db.session.scalars(sa.select(_m.application_id).where(
        _m.event_type == event_type, _m.event_id == event_id,
        _m.state.in_([OutboxState.PENDING.value, OutboxState.HELD.value]),
        _m.application_id.is_not(None)).distinct()))
