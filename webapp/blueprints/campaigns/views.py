"""Campaigns: list, create, edit, publish, duplicate.

The Emails tab lives beside this module, one module per feature on the same blueprint:
`emails_views` (the tab and its history), `trigger_views` (automatic emails fired by an event),
`reminder_views` (fired by the clock), `sample_views` (the preview and "Send me a test" of
both), `held_views` (emails held for review); `common` holds the path every kind of automatic
email takes, `sections` builds what each section of the tab renders.

Routes:
    /                                       list (search, phase)
    /new                                    create
    /<id>                                   overview
    /<id>/edit                              "Campaign" tab
    /<id>/publish, /<id>/unpublish          candidates see it (while open), or no longer
    /<id>/duplicate                         copy with its automatic emails
"""

from flask import abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from webapp.blueprints.campaigns import bp
from webapp.blueprints.campaigns.common import platform_managers
from webapp.blueprints.campaigns.forms import CampaignForm, CampaignSearchForm, PublishForm
from webapp.core.errors import ValidationFailed
from webapp.core.paging import Sort
from webapp.models import MemberRole
from webapp.services import campaign_triggers, campaigns
from webapp.web.forms import apply_errors
from webapp.web.htmx import render_page
from webapp.web.redirects import see_other


@bp.route("/")
@platform_managers
def index():
    """List the campaigns, searchable by label and phase."""
    form = CampaignSearchForm(request.args)
    sort = Sort.parse(request.args.get("sort"), campaigns.LIST_SORTS, campaigns.DEFAULT_SORT)
    page = campaigns.campaign_page(form.q.data or "", form.phase.data or "", sort,
                                   request.args.get("page", 1, type=int))
    list_args = {"q": form.q.data or None, "phase": form.phase.data or None}
    return render_page("campaigns/index.html", "campaigns/_list.html", form=form,
                       campaigns=page.rows, listing=page, sort=sort, list_args=list_args,
                       phase=campaigns.phase)


@bp.route("/new", methods=["GET", "POST"])
@platform_managers
def new():
    """Create a campaign (it gets the default acknowledgement of receipt)."""
    form = _campaign_form()
    saved = _save(form, lambda values: campaigns.create_campaign(current_user, **values),
                  _("Campaign created."), ".emails")
    return saved or (render_template("campaigns/new.html", form=form), _status(form))


@bp.route("/<int:campaign_id>")
@platform_managers
def show(campaign_id: int):
    """A campaign's overview, with the "Edit" button."""
    campaign = campaigns.get(campaign_id)
    return render_template("campaigns/show.html", campaign=campaign,
                           phase=campaigns.phase(campaign),
                           triggers=campaign_triggers.triggers_of(campaign))


@bp.route("/<int:campaign_id>/edit", methods=["GET", "POST"])
@platform_managers
def edit(campaign_id: int):
    """The editor's "Campaign" tab: label, description, dates, members."""
    campaign = campaigns.get(campaign_id)
    form = _campaign_form(campaign)
    saved = _save(form, lambda values: campaigns.update_campaign(current_user, campaign,
                                                                 **values),
                  _("Campaign saved."), ".edit")
    return saved or (render_page("campaigns/edit.html", "campaigns/_details_tab.html",
                                 form=form, campaign=campaign, tab="details"), _status(form))


@bp.route("/<int:campaign_id>/<any(publish, unpublish):action>", methods=["POST"])
@platform_managers
def publish(campaign_id: int, action: str):
    """Publish the campaign (candidates see it while open), or take it back."""
    campaign = campaigns.get(campaign_id)
    if not PublishForm().validate_on_submit():
        abort(400)
    campaigns.set_published(current_user, campaign, action == "publish")
    flash(_("Campaign published: candidates can apply while it is open.") if campaign.published
          else _("Campaign unpublished: candidates no longer see it."), "success")
    return see_other(url_for(".show", campaign_id=campaign.id))


@bp.route("/<int:campaign_id>/duplicate", methods=["POST"])
@platform_managers
def duplicate(campaign_id: int):
    """Copy a campaign with its automatic emails."""
    copy = campaigns.duplicate_campaign(current_user, campaigns.get(campaign_id))
    flash(_("Campaign duplicated with its automatic emails."), "success")
    return see_other(url_for(".edit", campaign_id=copy.id))


def _campaign_form(campaign=None) -> CampaignForm:
    if campaign is not None and request.method == "GET":
        form = CampaignForm(obj=campaign)
        form.managers.data = [u.id for u in campaign.member_users(MemberRole.MANAGER)]
        form.evaluators.data = [u.id for u in campaign.member_users(MemberRole.EVALUATOR)]
    else:
        form = CampaignForm()
        if request.method == "GET":
            form.managers.data = [current_user.id]  # the creator manages it unless unticked
    form.managers.choices = [SelectChoice(u.id, f"{u.name} <{u.email}>")
                             for u in campaigns.assignable_users(MemberRole.MANAGER)]
    form.evaluators.choices = [SelectChoice(u.id, f"{u.name} <{u.email}>")
                               for u in campaigns.assignable_users(MemberRole.EVALUATOR)]
    return form


def _save(form: CampaignForm, save, message: str, endpoint: str):
    """The campaign form posted: `save(values)` (the service, given `_campaign_values`) and,
    saved, `message` flashed and a redirect to `endpoint` for the campaign; None to show the
    form again (not posted, or refused: the service's errors next to their fields)."""
    if form.validate_on_submit():
        try:
            campaign = save(_campaign_values(form))
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            flash(message, "success")
            return see_other(url_for(endpoint, campaign_id=campaign.id))
    return None


def _status(form: CampaignForm) -> int:
    return 422 if form.errors else 200


def _campaign_values(form: CampaignForm) -> dict:
    return {
        "label": form.label.data.strip(), "description": form.description.data or "",
        "opens_at": form.opens_at.data, "closes_at": form.closes_at.data,
        "published": form.published.data,
        "managers": campaigns.users_by_ids(form.managers.data or []),
        "evaluators": campaigns.users_by_ids(form.evaluators.data or []),
    }
