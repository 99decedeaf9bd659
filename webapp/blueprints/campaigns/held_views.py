"""Emails held for review: the Emails tab's section that releases or cancels them. Each
answer redraws only this section.

Routes:
    /<id>/emails/held                       the held emails section
    /<id>/held/<trigger_id>/<status_id>/release|cancel   release (now or later) or cancel a group
"""

from flask import flash
from flask_babel import ngettext
from flask_login import current_user

from webapp.blueprints.campaigns import bp
from webapp.blueprints.campaigns.common import platform_managers
from webapp.blueprints.campaigns.forms import ReleaseHeldForm
from webapp.blueprints.campaigns.sections import HELD
from webapp.core.errors import ValidationFailed
from webapp.services import campaigns, held_emails


@bp.route("/<int:campaign_id>/emails/held")
@platform_managers
def held_section(campaign_id: int):
    """The campaign's emails held for review, per automatic email and status."""
    campaign = campaigns.get(campaign_id)
    return HELD.closed(campaign)


@bp.route("/<int:campaign_id>/held/<int:trigger_id>/<int:status_id>/<any(release, cancel):action>",
          methods=["POST"])
@platform_managers
def act_on_held(campaign_id: int, trigger_id: int, status_id: int, action: str):
    """Release a held group (now, or from a moment) or cancel it: exactly the emails the
    manager saw (the group's version), else 422 with the group as it is now."""
    campaign = campaigns.get(campaign_id)
    form = ReleaseHeldForm()
    errors: dict[str, list[str]] = {}
    key = f"{campaign.id}-{trigger_id}-{status_id}"
    asking = None
    if not form.validate_on_submit():
        errors = form.errors
    elif action == "release" and form.asks_confirmation():
        asking = (key, form.not_before.data)  # the date is right: now the question
    else:
        try:
            if action == "release":
                count = held_emails.release(current_user, campaign, trigger_id, status_id,
                                            form.version.data, form.not_before.data)
                flash(ngettext("%(num)d held email released.", "%(num)d held emails released.",
                               count), "success")
            else:
                count = held_emails.cancel(current_user, campaign, trigger_id, status_id,
                                           form.version.data)
                flash(ngettext("%(num)d held email cancelled.",
                               "%(num)d held emails cancelled.", count), "success")
        except ValidationFailed as error:
            errors = error.errors
    held_errors = {key: [m for messages in errors.values() for m in messages]} if errors else {}
    shown = {"held_errors": held_errors, "held_asking": asking}
    if errors or asking:  # the page again when refused or asking: why, or the question
        return HELD.reopened(campaign, 422 if errors else 200, **shown)
    return HELD.saved(campaign, events=("triggerSaved", "outboxChanged"), **shown)
