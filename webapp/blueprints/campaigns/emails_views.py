"""The campaign editor's "Emails" tab, whole, and its change history.

Routes:
    /<id>/emails                            the tab: every section
    /<id>/emails/history                    the tab's change history (refreshed on triggerSaved)
"""

from flask import render_template

from webapp.blueprints.campaigns import bp
from webapp.blueprints.campaigns.common import platform_managers
from webapp.blueprints.campaigns.sections import history_context, tab_context
from webapp.services import campaigns
from webapp.web.htmx import render_page


@bp.route("/<int:campaign_id>/emails")
@platform_managers
def emails(campaign_id: int):
    """The editor's "Emails" tab: candidate actions, manager / evaluator actions, scheduled
    reminders, held emails, history."""
    campaign = campaigns.get(campaign_id)
    return render_page("campaigns/emails.html", "campaigns/_emails_tab.html",
                       **tab_context(campaign))


@bp.route("/<int:campaign_id>/emails/history")
@platform_managers
def emails_history(campaign_id: int):
    """The changes made to the campaign's automatic emails."""
    campaign = campaigns.get(campaign_id)
    return render_template("campaigns/_history.html", campaign=campaign,
                           **history_context(campaign))
