"""What every view of the campaigns blueprint shares: who may use it, and loading a campaign
(404 when it does not exist)."""

from flask import abort

from webapp.models import EventType, Role
from webapp.services import campaigns
from webapp.web.access import role_required

platform_managers = role_required(Role.ADMIN, Role.MANAGER)


def campaign_or_404(campaign_id: int):
    campaign = campaigns.get_campaign(campaign_id)
    if campaign is None:
        abort(404)
    return campaign


def event_or_404(event: str) -> str:
    if event not in {e.value for e in EventType}:
        abort(404)
    return event
