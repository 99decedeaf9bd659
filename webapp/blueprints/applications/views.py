
from flask import (
    abort,
    flash,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from webapp.blueprints.applications import bp
from webapp.blueprints.applications.forms import (
    BulkPreviewForm,
    BulkStatusForm,
    FilterForm,
    ReopenForm,
    StatusChangeForm,
)
from webapp.core.errors import ValidationFailed
from webapp.services import applications, statuses
from webapp.services.applications import Selection, Sort
from webapp.web.access import STAFF, role_required
from webapp.web.csv_export import csv_response
from webapp.web.forms import apply_errors, id_or_none
from webapp.web.htmx import render_page
from webapp.web.redirects import see_other

# /applications/                                  campaigns whose applications I may see
# /applications/campaigns/<c>                     the list: filter, search, keyset pages
# /applications/campaigns/<c>/export.csv          the filtered list as a CSV file (streamed)
# /applications/campaigns/<c>/status/preview      what a bulk change would do (GET)
# /applications/campaigns/<c>/status              the bulk change (POST)
# /applications/<a>                               one application: answers, status, history, emails
# /applications/<a>/status/preview                what a change would do (GET)
# /applications/<a>/status                        change its status (POST)
# /applications/<a>/reopen                        "Reopen for changes": back to Draft (POST)
# /applications/<a>/activity                      its history and emails (refreshed on change)


def _locale() -> str:
    return str(get_locale())


@bp.route("/")
@role_required(*STAFF)
def index():
    """The campaigns whose applications I may see."""
    return render_template("applications/index.html",
                           campaigns=applications.campaigns_for_staff(current_user))


@bp.route("/campaigns/<int:campaign_id>")
@role_required(*STAFF)
def campaign_list(campaign_id: int):
    """A campaign's applications, filtered and searched, one keyset page at a time."""
    campaign = applications.campaign_for_staff(current_user, campaign_id)
    all_statuses = statuses.all_statuses()
    filters = FilterForm(request.args)
    filters.set_statuses(all_statuses, _locale())
    if not filters.validate():
        filters = FilterForm(formdata=None)
        filters.set_statuses(all_statuses, _locale())
    selection = Selection(campaign.id, all_matching=True, status_id=filters.status.data,
                          search=filters.q.data or "")
    sort = Sort.parse(request.args.get("sort"), applications.SORT_KEYS)
    page = applications.list_applications(current_user, selection,
                     id_or_none(request.args.get("after")), sort=sort)
    bulk = BulkStatusForm(formdata=None, list_status=filters.status.data or "",
                          list_q=filters.q.data or "")
    bulk.set_statuses(all_statuses, _locale())
    list_args = {"campaign_id": campaign.id, "status": filters.status.data or None,
                 "q": filters.q.data or None}
    return render_page("applications/list.html", "applications/_list.html", campaign=campaign,
                       filters=filters, listing=page, bulk=bulk, sort=sort, list_args=list_args)


@bp.route("/campaigns/<int:campaign_id>/export.csv")
@role_required(*STAFF)
def export(campaign_id: int):
    """The list as it is filtered and sorted, every page of it, as a CSV file."""
    campaign = applications.campaign_for_staff(current_user, campaign_id)
    filters = FilterForm(request.args)
    filters.set_statuses(statuses.all_statuses(), _locale())
    if not filters.validate():
        abort(400)
    selection = Selection(campaign.id, all_matching=True, status_id=filters.status.data,
                          search=filters.q.data or "")
    sort = Sort.parse(request.args.get("sort"), applications.SORT_KEYS)
    rows = applications.export_rows(current_user, selection, sort, _locale())
    header = (_("Reference"), _("Last name"), _("First name"), _("Email"), _("Title"),
              _("Status"), _("Submitted on"), _("Created"))
    return csv_response(f"applications-{campaign.id}.csv", header, rows)


@bp.route("/campaigns/<int:campaign_id>/status/preview")
@role_required(*STAFF)
def bulk_preview(campaign_id: int):
    """Before a bulk change: how many applications move, how many emails per template."""
    campaign = applications.campaign_for_staff(current_user, campaign_id)
    form = BulkPreviewForm(request.args)
    form.set_statuses(statuses.all_statuses(), _locale())
    preview = None
    if form.validate():
        preview = _preview(form.selection(campaign.id), form.status.data)
    return render_page("applications/bulk_confirm.html", "applications/_bulk_confirm.html",
                       campaign=campaign, form=form, preview=preview)


@bp.route("/campaigns/<int:campaign_id>/status", methods=["POST"])
@role_required(*STAFF)
def bulk_change(campaign_id: int):
    """Change the status of the selected applications, or of all matching the filter."""
    campaign = applications.campaign_for_staff(current_user, campaign_id)
    form = BulkStatusForm()
    form.set_statuses(statuses.all_statuses(), _locale())
    back = url_for("applications.campaign_list", campaign_id=campaign.id,
                   status=form.list_status.data or None, q=form.list_q.data or None)
    if form.validate_on_submit():
        try:
            result = applications.bulk_change_status(current_user, form.selection(campaign.id),
                                                     form.status.data, form.comment.data or "")
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            flash(_summary(result), "success")
            # htmx reloads the list in place (and pushes its URL) with the summary message.
            return see_other(back, into="#applications-list", trigger="statusChanged")
    return render_page("applications/bulk_confirm.html", "applications/_bulk_confirm.html",
                       form=form, campaign=campaign, preview=None, http_status=422)


@bp.route("/<int:application_id>")
@role_required(*STAFF)
def detail(application_id: int):
    """One application: its answers, its status, its history and its emails."""
    application = applications.application_for_staff(current_user, application_id)
    return render_template("applications/detail.html", **_panel(application),
                           **_activity(application))


@bp.route("/<int:application_id>/status/preview")
@role_required(*STAFF)
def status_preview(application_id: int):
    """What changing this application's status would do."""
    application = applications.application_for_staff(current_user, application_id)
    status_id = id_or_none(request.args.get("status"))
    preview = None
    if status_id:
        preview = _preview(Selection(application.campaign_id, ids=(application.id,)), status_id)
    return render_template("applications/_status_preview.html", preview=preview)


@bp.route("/<int:application_id>/status", methods=["POST"])
@role_required(*STAFF)
def change_status(application_id: int):
    """Change one application's status, with an optional comment."""
    application = applications.application_for_staff(current_user, application_id)
    form = StatusChangeForm()
    form.set_statuses(statuses.all_statuses(), _locale())
    if form.validate_on_submit():
        try:
            result = applications.change_status(current_user, application.id, form.status.data,
                                                form.comment.data or "")
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            flash(_summary(result), "success")
            return _panel_changed(application)
    return render_page("applications/detail.html", "applications/_status_panel.html",
                       **_panel(application, form=form), **_activity(application),
                       http_status=422)


@bp.route("/<int:application_id>/reopen", methods=["POST"])
@role_required(*STAFF)
def reopen(application_id: int):
    """Reopen for changes: the application goes back to Draft, its candidate edits and
    submits it again. Explicit and audited: the only way back to Draft."""
    application = applications.application_for_staff(current_user, application_id)
    form = ReopenForm()
    if form.validate_on_submit():
        try:
            applications.reopen_for_changes(current_user, application.id,
                                            form.comment.data or "")
        except ValidationFailed as error:
            form.form_errors.extend(m for msgs in error.errors.values() for m in msgs)
        else:
            flash(_("The application is a draft again: its candidate can change it and submit "
                    "it again."), "success")
            return _panel_changed(application)
    return render_page("applications/detail.html", "applications/_status_panel.html",
                       **_panel(application, reopen=form), **_activity(application),
                       http_status=422)


def _panel(application, form=None, reopen=None) -> dict:
    """What the status panel shows: the change form, and "Reopen for changes" when allowed."""
    if form is None:
        form = StatusChangeForm(formdata=None)
        form.set_statuses(statuses.all_statuses(), _locale())
    return {"application": application, "form": form,
            "reopen": reopen or ReopenForm(formdata=None),
            "may_reopen": applications.can_reopen(current_user, application)}


def _panel_changed(application):
    """After a change: htmx gets the status panel with its message (the activity panel
    reloads on the event); a plain form goes back to the application."""
    return render_page("applications/detail.html", "applications/_status_panel.html",
                       see_other=url_for("applications.detail", application_id=application.id),
                       trigger="statusChanged", with_messages=True, **_panel(application))


@bp.route("/<int:application_id>/activity")
@role_required(*STAFF)
def activity(application_id: int):
    """The history and emails panel, refreshed after a status change."""
    application = applications.application_for_staff(current_user, application_id)
    return render_template("applications/_activity.html", application=application,
                           **_activity(application))


def _activity(application) -> dict:
    return {"history": applications.history(application),
            "emails": applications.emails(application),
            "skipped": applications.skipped_recipients(application)}


def _preview(selection: Selection, status_id: int):
    try:
        return applications.preview_status_change(current_user, selection, status_id)
    except ValidationFailed:
        return None


def _summary(result) -> str:
    if not result.moved:
        if not result.unchanged:
            return _("Nothing changed.") + _drafts_note(result.drafts)
        return _("Nothing changed: the applications already have the status %(status)s.",
                 status=result.status.label_for(_locale())) + _drafts_note(result.drafts)
    # Whole sentences, each translated: punctuation belongs to the language.
    text = ngettext("%(num)d application moved to %(status)s.",
                    "%(num)d applications moved to %(status)s.",
                    result.moved, status=result.status.label_for(_locale()))
    if result.queued > result.held or not result.held:
        text += " " + ngettext("%(num)d email queued.", "%(num)d emails queued.",
                               result.queued - result.held)
    if result.held:
        text += " " + ngettext("%(num)d email held for review.",
                               "%(num)d emails held for review.", result.held)
    if result.failed:
        text += " " + ngettext("%(num)d email could not be rendered (see the outbox).",
                               "%(num)d emails could not be rendered (see the outbox).",
                               result.failed)
    if result.unchanged:
        text += " " + ngettext("%(num)d application already had this status.",
                               "%(num)d applications already had this status.",
                               result.unchanged)
    return text + _drafts_note(result.drafts)


def _drafts_note(drafts: int) -> str:
    if not drafts:
        return ""
    return " " + ngettext("%(num)d draft was left alone: a draft belongs to its candidate "
                          "until they submit it.",
                          "%(num)d drafts were left alone: a draft belongs to its candidate "
                          "until they submit it.", drafts)
