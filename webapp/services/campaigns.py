"""Campaigns and their members."""

import logging
from datetime import datetime

from flask import current_app

from webapp.extensions import db
from webapp.models import Campaign, CampaignMember, EventType, MemberRole, Trigger, User
from webapp.services import audit
from webapp.services.email_templates import default_acknowledgement_template

log = logging.getLogger("missive.campaigns")


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


def create_campaign(actor: User | None, label: str, opens_at: datetime, closes_at: datetime,
                    description: str = "", published: bool = True,
                    managers: list[User] = (), evaluators: list[User] = ()) -> Campaign:
    """Create a campaign with its default acknowledgement trigger, in one transaction."""
    campaign = Campaign(label=label, description=description, opens_at=opens_at,
                        closes_at=closes_at, published=published,
                        created_by_id=actor.id if actor else None)
    campaign.members = [CampaignMember(user=u, role=MemberRole.MANAGER) for u in managers] + [
        CampaignMember(user=u, role=MemberRole.EVALUATOR) for u in evaluators
    ]
    db.session.add(campaign)
    db.session.flush()
    add_default_acknowledgement(campaign)
    audit.record(actor, "campaign.created", "campaign", campaign.id, label, campaign.id)
    db.session.commit()
    log.info("Campaign %s created by %s", campaign.id, actor.email if actor else "system")
    return campaign
