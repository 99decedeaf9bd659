"""Emails held for review: status emails written `held` by a trigger that holds its emails,
so that a decision reaches nobody by accident. A platform manager sees them per template, with
a sample, then releases them (now or from a chosen moment) or cancels them; both are audited.

Release and cancel act on a count the manager confirmed: if the group changed meanwhile
(a later decision cancelled some, a new one held more), nothing is done and the new count is
shown, as the bulk status change does.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from webapp.core import audit, clock
from webapp.core.errors import NotAllowed, ValidationFailed
from webapp.extensions import db
from webapp.models import Campaign, EmailTemplate, OutboxMessage, OutboxState, User
from webapp.services import permissions

log = logging.getLogger("missive.held")

_m = OutboxMessage.__table__.c


@dataclass(frozen=True)
class HeldGroup:
    """A campaign's held emails of one template."""

    campaign_id: int
    campaign_label: str
    template_id: int
    template_name: str
    count: int
    recipients: int  # distinct addresses
    applications: int
    sample: OutboxMessage


def groups(campaign_id: int | None = None) -> list[HeldGroup]:
    """Held emails per (campaign, template), each with its first email as a sample."""
    query = (sa.select(_m.campaign_id, _m.template_id, sa.func.count(),
                       sa.func.count(sa.distinct(_m.to_addr)),
                       sa.func.count(sa.distinct(_m.application_id)), sa.func.min(_m.id))
             .where(_m.state == OutboxState.HELD.value)
             .group_by(_m.campaign_id, _m.template_id).order_by(sa.func.min(_m.id)))
    if campaign_id is not None:
        query = query.where(_m.campaign_id == campaign_id)
    rows = db.session.execute(query).all()
    found = []
    for campaign, template, count, recipients, applications, sample_id in rows:
        label = db.session.get(Campaign, campaign).label if campaign else ""
        name = db.session.get(EmailTemplate, template).name if template else ""
        found.append(HeldGroup(campaign or 0, label, template or 0, name, count, recipients,
                               applications, db.session.get(OutboxMessage, sample_id)))
    return found


def group(campaign: Campaign, template_id: int) -> HeldGroup | None:
    return next((g for g in groups(campaign.id) if g.template_id == template_id), None)


def _of_group(campaign: Campaign, template_id: int) -> list:
    return [_m.state == OutboxState.HELD.value, _m.campaign_id == campaign.id,
            _m.template_id == template_id]


def _check(actor: User) -> None:
    if not permissions.can_configure_emails(actor):
        raise NotAllowed()


def _changed(done: int, expected: int) -> None:
    if done != expected:
        db.session.rollback()
        raise ValidationFailed(str(_l(
            "The held emails changed meanwhile: there are now %(n)d. Check them and confirm "
            "again.", n=done)), field="expected")


def release(actor: User, campaign: Campaign, template_id: int, expected: int,
            not_before: datetime | None = None) -> int:
    """Hand a held group to the worker: sent at once, or from `not_before` (naive UTC)."""
    _check(actor)
    now = clock.now()
    if not_before is not None and not_before <= now:
        raise ValidationFailed(str(_l("Choose a moment in the future, or release now.")),
                               field="not_before")
    due = not_before or now
    done = db.session.execute(
        sa.update(OutboxMessage.__table__).where(*_of_group(campaign, template_id))
        .values(state=OutboxState.PENDING.value, next_attempt_at=due, updated_at=now)
    ).rowcount
    _changed(done, expected)
    name = _template_name(template_id)
    when = f" from {due:%Y-%m-%d %H:%M} UTC" if not_before else ""
    audit.record(actor, "held.released", "held_emails", template_id,
                 f"Released {done} held emails of {name}{when}", campaign.id)
    db.session.commit()
    log.info("%s held emails of template %s (campaign %s) released by %s%s", done,
             template_id, campaign.id, actor.email, when)
    return done


def cancel(actor: User, campaign: Campaign, template_id: int, expected: int) -> int:
    """Cancel a held group: none of its emails will be sent."""
    _check(actor)
    now = clock.now()
    done = db.session.execute(
        sa.update(OutboxMessage.__table__).where(*_of_group(campaign, template_id))
        .values(state=OutboxState.CANCELLED.value, updated_at=now,
                cancel_reason=f"Cancelled by {actor.email} while held for review")
    ).rowcount
    _changed(done, expected)
    name = _template_name(template_id)
    audit.record(actor, "held.cancelled", "held_emails", template_id,
                 f"Cancelled {done} held emails of {name}", campaign.id)
    db.session.commit()
    log.info("%s held emails of template %s (campaign %s) cancelled by %s", done, template_id,
             campaign.id, actor.email)
    return done


def _template_name(template_id: int) -> str:
    template = db.session.get(EmailTemplate, template_id)
    return template.name if template else f"#{template_id}"
