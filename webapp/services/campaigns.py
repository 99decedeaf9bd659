"""Campaigns and their members."""

import enum
import logging
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from webapp.core import audit, clock
from webapp.core.errors import NotFound, ValidationFailed
from webapp.core.paging import Page, Sort, offset_page
from webapp.extensions import db
from webapp.models import (
    Campaign,
    CampaignMember,
    EventType,
    MemberRole,
    Role,
    Trigger,
    User,
    UserRole,
)
from webapp.services import campaign_triggers, documents, reminders
from webapp.services.email_templates import default_acknowledgement_template

log = logging.getLogger("missive.campaigns")


class Phase(enum.StrEnum):
    UPCOMING = "upcoming"
    OPEN = "open"
    CLOSED = "closed"


def add_default_acknowledgement(campaign: Campaign) -> Trigger | None:
    """Each new campaign acknowledges submissions to the candidate, unless the platform says no."""
    if not current_app.config["DEFAULT_ACKNOWLEDGEMENT_TRIGGER"]:
        return None
    trigger = Trigger(
        campaign=campaign,
        event=EventType.SUBMITTED,
        template=default_acknowledgement_template(),
        to_candidate=True,
        active=True,
        is_default_acknowledgement=True,
    )
    db.session.add(trigger)
    return trigger


def _check_dates(opens_at: datetime, closes_at: datetime) -> None:
    if opens_at and closes_at and closes_at <= opens_at:
        raise ValidationFailed(str(_l("The closing date must be after the opening date.")),
                               field="closes_at")


def _members(managers, evaluators) -> list[CampaignMember]:
    return [CampaignMember(user=u, role=MemberRole.MANAGER) for u in managers] + [
        CampaignMember(user=u, role=MemberRole.EVALUATOR) for u in evaluators
    ]


def create_campaign(actor: User | None, label: str, opens_at: datetime, closes_at: datetime,
                    description: str = "", published: bool = False,
                    managers: list[User] = (), evaluators: list[User] = ()) -> Campaign:
    """Create a campaign with its default acknowledgement trigger, in one transaction.
    Unpublished unless asked: candidates see it once a manager has checked it and publishes.
    With no manager chosen, its creator manages it: emails to "the campaign's managers" must
    reach someone."""
    _check_dates(opens_at, closes_at)
    if not managers and actor is not None:
        managers = [actor]
    campaign = Campaign(label=label, description=description, opens_at=opens_at,
                        closes_at=closes_at, published=published,
                        created_by_id=actor.id if actor else None)
    campaign.members = _members(managers, evaluators)
    db.session.add(campaign)
    db.session.flush()
    add_default_acknowledgement(campaign)
    audit.record(actor, "campaign.created", "campaign", campaign.id, label, campaign.id)
    db.session.commit()
    log.info("Campaign %s created by %s", campaign.id, actor.email if actor else "system")
    return campaign


def update_campaign(actor: User, campaign: Campaign, label: str, opens_at: datetime,
                    closes_at: datetime, description: str = "", published: bool = True,
                    managers: list[User] = (), evaluators: list[User] = ()) -> Campaign:
    """Edit a campaign's details and members. Its triggers are untouched."""
    _check_dates(opens_at, closes_at)
    campaign.label, campaign.description, campaign.published = label, description, published
    campaign.opens_at, campaign.closes_at = opens_at, closes_at
    campaign.members = []
    db.session.flush()  # the old member rows go before the new ones share their keys
    campaign.members = _members(managers, evaluators)
    audit.record(actor, "campaign.updated", "campaign", campaign.id, label, campaign.id)
    db.session.commit()
    log.info("Campaign %s saved by %s", campaign.id, actor.email)
    return campaign


def set_published(actor: User, campaign: Campaign, published: bool) -> Campaign:
    """Publish a campaign (candidates see it while it is open) or take it back."""
    if campaign.published != published:
        campaign.published = published
        audit.record(actor, "campaign.published" if published else "campaign.unpublished",
                     "campaign", campaign.id, campaign.label, campaign.id)
        db.session.commit()
        log.info("Campaign %s %s by %s", campaign.id,
                 "published" if published else "unpublished", actor.email)
    return campaign


def duplicate_campaign(actor: User, campaign: Campaign) -> Campaign:
    """A copy (unpublished) with the same dates, members and automatic emails."""
    copy = Campaign(label=str(_l("%(label)s (copy)", label=campaign.label))[:200],
                    description=campaign.description, opens_at=campaign.opens_at,
                    closes_at=campaign.closes_at, published=False, created_by_id=actor.id)
    copy.members = [CampaignMember(user_id=m.user_id, role=m.role) for m in campaign.members]
    db.session.add(copy)
    db.session.flush()
    # The copy's emails are the original's: no fresh default acknowledgement beside them.
    campaign_triggers.copy_triggers(campaign, copy)
    reminders.copy_reminders(campaign, copy)
    documents.copy_requested(campaign, copy)
    audit.record(actor, "campaign.created", "campaign", copy.id,
                 str(_l("copy of %(label)s", label=campaign.label)), copy.id)
    db.session.commit()
    log.info("Campaign %s duplicated as %s by %s", campaign.id, copy.id, actor.email)
    return copy


def get_campaign(campaign_id: int) -> Campaign | None:
    return db.session.get(Campaign, campaign_id)


def get(campaign_id: int) -> Campaign:
    """The campaign: NotFound if there is none (who may configure it is the views' role
    check)."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound()
    return campaign


def phase(campaign: Campaign, at: datetime | None = None) -> Phase:
    at = at or clock.now()
    if at < campaign.opens_at:
        return Phase.UPCOMING
    return Phase.OPEN if at < campaign.closes_at else Phase.CLOSED


LIST_SORTS = {
    "label": lambda: sa.func.lower(Campaign.label),
    "opens": lambda: Campaign.opens_at,
    "closes": lambda: Campaign.closes_at,
}
DEFAULT_SORT = Sort("closes", descending=True)
PAGE_SIZE = 25


def campaign_page(search: str = "", phase_filter: str = "", sort: Sort = DEFAULT_SORT,
                  number: int = 1, size: int = PAGE_SIZE) -> Page:
    """One page of the campaigns list, filtered by label and phase, sorted by a column."""
    expression = LIST_SORTS[sort.key]()
    direction = sa.desc if sort.descending else sa.asc
    query = _filtered(search, phase_filter).order_by(direction(expression),
                                                      direction(Campaign.id))
    return offset_page(db.session, query, number, size)


def list_campaigns(search: str = "", phase_filter: str = "") -> list[Campaign]:
    """Campaigns by closing date, newest first, filtered by label and phase."""
    query = _filtered(search, phase_filter).order_by(Campaign.closes_at.desc(),
                                                     Campaign.id.desc())
    return list(db.session.scalars(query))


def _filtered(search: str, phase_filter: str):
    now = clock.now()
    query = sa.select(Campaign)
    if search.strip():
        query = query.where(Campaign.label.icontains(search.strip(), autoescape=True))
    if phase_filter == Phase.UPCOMING:
        query = query.where(Campaign.opens_at > now)
    elif phase_filter == Phase.OPEN:
        query = query.where(Campaign.opens_at <= now, Campaign.closes_at > now)
    elif phase_filter == Phase.CLOSED:
        query = query.where(Campaign.closes_at <= now)
    return query


def assignable_users(role: MemberRole) -> list[User]:
    """Staff who may be assigned: managers (and admins) as managers, evaluators as evaluators."""
    roles = [Role.MANAGER, Role.ADMIN] if role == MemberRole.MANAGER else [Role.EVALUATOR]
    query = (sa.select(User).join(UserRole).where(UserRole.role.in_(roles), User.active)
             .distinct().order_by(User.last_name, User.first_name, User.id))
    return list(db.session.scalars(query))


def users_by_ids(ids) -> list[User]:
    ids = list(ids)
    return list(db.session.scalars(sa.select(User).where(User.id.in_(ids)))) if ids else []
