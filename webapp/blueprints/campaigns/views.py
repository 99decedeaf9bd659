"""Campaigns: list, create, edit, duplicate, and the Emails tab (automatic emails).

Routes:
    /                                       list (search, phase)
    /new                                    create
    /<id>                                   overview
    /<id>/edit                              "Campaign" tab
    /<id>/publish, /<id>/unpublish          candidates see it (while open), or no longer
    /<id>/duplicate                         copy with its automatic emails
    /<id>/emails                            "Emails" tab
    /<id>/emails/history                    the tab's change history (refreshed on triggerSaved)
    /<id>/emails/<event>                    one section, closed (the form's Cancel)
    /<id>/emails/<event>/new                create an automatic email
    /<id>/triggers/<tid>/edit               edit one
    /<id>/triggers/<tid>/toggle             switch on / off
    /<id>/triggers/<tid>/delete             delete
    /<id>/triggers/<tid>/preview            its email with example values
    /<id>/triggers/<tid>/test               "Send me a test"
    /<id>/emails/reminders                  the "Scheduled reminders" section, form closed
    /<id>/emails/reminders/new              create a reminder
    /<id>/reminders/<rid>/edit|toggle|delete
    /<id>/emails/held                       the held emails section
    /<id>/held/<trigger_id>/<status_id>/release|cancel   release (now or later) or cancel a group
"""

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from webapp.blueprints.campaigns import bp
from webapp.blueprints.campaigns.forms import (
    CampaignForm,
    CampaignSearchForm,
    PublishForm,
    ReleaseHeldForm,
    ReminderForm,
    TriggerForm,
)
from webapp.core.errors import NotAllowed, ValidationFailed
from webapp.models import EventType, MemberRole, Role
from webapp.services import (
    campaign_triggers,
    campaigns,
    email_templates,
    held_emails,
    permissions,
    reminders,
    statuses,
)
from webapp.services.paging import Sort
from webapp.web.access import role_required
from webapp.web.forms import apply_errors
from webapp.web.htmx import add_trigger, is_htmx, render_page

platform_managers = role_required(Role.ADMIN, Role.MANAGER)


# Campaigns --------------------------------------------------------------------------------


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
    if form.validate_on_submit():
        try:
            campaign = campaigns.create_campaign(current_user, **_campaign_values(form))
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            flash(_("Campaign created."), "success")
            return redirect(url_for(".emails", campaign_id=campaign.id), 303)
    status = 422 if form.errors else 200
    return render_template("campaigns/new.html", form=form), status


@bp.route("/<int:campaign_id>")
@platform_managers
def show(campaign_id: int):
    """A campaign's overview, with the "Edit" button."""
    campaign = _campaign_or_404(campaign_id)
    return render_template("campaigns/show.html", campaign=campaign,
                           phase=campaigns.phase(campaign),
                           triggers=campaign_triggers.triggers_of(campaign))


@bp.route("/<int:campaign_id>/edit", methods=["GET", "POST"])
@platform_managers
def edit(campaign_id: int):
    """The editor's "Campaign" tab: label, description, dates, members."""
    campaign = _campaign_or_404(campaign_id)
    form = _campaign_form(campaign)
    if form.validate_on_submit():
        try:
            campaigns.update_campaign(current_user, campaign, **_campaign_values(form))
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            flash(_("Campaign saved."), "success")
            return redirect(url_for(".edit", campaign_id=campaign.id), 303)
    status = 422 if form.errors else 200
    return render_page("campaigns/edit.html", "campaigns/_details_tab.html", form=form,
                       campaign=campaign, tab="details"), status


@bp.route("/<int:campaign_id>/<any(publish, unpublish):action>", methods=["POST"])
@platform_managers
def publish(campaign_id: int, action: str):
    """Publish the campaign (candidates see it while open), or take it back."""
    campaign = _campaign_or_404(campaign_id)
    if not PublishForm().validate_on_submit():
        abort(400)
    campaigns.set_published(current_user, campaign, action == "publish")
    flash(_("Campaign published: candidates can apply while it is open.") if campaign.published
          else _("Campaign unpublished: candidates no longer see it."), "success")
    return redirect(url_for(".show", campaign_id=campaign.id), 303)


@bp.route("/<int:campaign_id>/duplicate", methods=["POST"])
@platform_managers
def duplicate(campaign_id: int):
    """Copy a campaign with its automatic emails."""
    copy = campaigns.duplicate_campaign(current_user, _campaign_or_404(campaign_id))
    flash(_("Campaign duplicated with its automatic emails."), "success")
    return redirect(url_for(".edit", campaign_id=copy.id), 303)


# The Emails tab ---------------------------------------------------------------------------


@bp.route("/<int:campaign_id>/emails")
@platform_managers
def emails(campaign_id: int):
    """The editor's "Emails" tab: candidate actions and manager / evaluator actions."""
    campaign = _campaign_or_404(campaign_id)
    return render_page("campaigns/emails.html", "campaigns/_emails_tab.html",
                       **_emails_context(campaign))


@bp.route("/<int:campaign_id>/emails/history")
@platform_managers
def emails_history(campaign_id: int):
    """The changes made to the campaign's automatic emails."""
    campaign = _campaign_or_404(campaign_id)
    return render_template("campaigns/_history.html", campaign=campaign,
                           **_history_context(campaign))


@bp.route("/<int:campaign_id>/emails/<event>")
@platform_managers
def section(campaign_id: int, event: str):
    """One section of the Emails tab, form closed."""
    campaign = _campaign_or_404(campaign_id)
    event = _event_or_404(event)
    if not is_htmx():
        return redirect(url_for(".emails", campaign_id=campaign.id))
    return render_template("campaigns/_section.html", **_emails_context(campaign, focus="create"),
                           event=event)


@bp.route("/<int:campaign_id>/emails/<event>/new", methods=["GET", "POST"])
@platform_managers
def new_trigger(campaign_id: int, event: str):
    """Create an automatic email in one section ("Créer un e-mail automatique")."""
    campaign = _campaign_or_404(campaign_id)
    event = _event_or_404(event)
    form = _trigger_form(event, data={"active": True, "to_candidate": True})
    return _save_trigger(campaign, event, form, trigger=None)


@bp.route("/<int:campaign_id>/triggers/<int:trigger_id>/edit", methods=["GET", "POST"])
@platform_managers
def edit_trigger(campaign_id: int, trigger_id: int):
    """Edit an automatic email in place."""
    campaign = _campaign_or_404(campaign_id)
    trigger = _trigger_or_404(campaign, trigger_id)
    form = _trigger_form(trigger.event, obj=trigger)
    if request.method == "GET":
        form.delay_hours.data = trigger.delay_minutes // 60 or None
    return _save_trigger(campaign, trigger.event, form, trigger=trigger)


@bp.route("/<int:campaign_id>/triggers/<int:trigger_id>/toggle", methods=["POST"])
@platform_managers
def toggle_trigger(campaign_id: int, trigger_id: int):
    """Switch an automatic email on or off."""
    campaign = _campaign_or_404(campaign_id)
    trigger = _trigger_or_404(campaign, trigger_id)
    event = trigger.event
    try:
        campaign_triggers.set_active(current_user, campaign, trigger, not trigger.active,
                                     str(get_locale()))
    except ValidationFailed as error:
        flash(str(error), "error")
        return _section_response(campaign, event, status=422, focus=f"switch-{trigger.id}")
    flash(_("Automatic email switched on.") if trigger.active
          else _("Automatic email switched off."), "success")
    return _section_response(campaign, event, focus=f"switch-{trigger.id}")


@bp.route("/<int:campaign_id>/triggers/<int:trigger_id>/delete", methods=["GET", "POST"])
@platform_managers
def delete_trigger(campaign_id: int, trigger_id: int):
    """Delete an automatic email (GET: the confirmation page of the no-JavaScript path)."""
    campaign = _campaign_or_404(campaign_id)
    trigger = _trigger_or_404(campaign, trigger_id)
    event = trigger.event
    if request.method == "GET":
        return render_template("campaigns/confirm_delete.html", campaign=campaign,
                               trigger=trigger)
    campaign_triggers.delete_trigger(current_user, campaign, trigger, str(get_locale()))
    flash(_("Automatic email deleted."), "success")
    return _section_response(campaign, event, focus="heading")


@bp.route("/<int:campaign_id>/triggers/<int:trigger_id>/preview")
@platform_managers
def preview_trigger(campaign_id: int, trigger_id: int):
    """The email an automatic email sends, in the reader's language, with example values."""
    campaign = _campaign_or_404(campaign_id)
    trigger = _trigger_or_404(campaign, trigger_id)
    rendered, problems = campaign_triggers.preview_trigger(trigger, str(get_locale()))
    return render_template("campaigns/trigger_preview.html", campaign=campaign,
                           trigger=trigger, rendered=rendered, problems=problems)


@bp.route("/<int:campaign_id>/triggers/<int:trigger_id>/test", methods=["POST"])
@platform_managers
def test_trigger(campaign_id: int, trigger_id: int):
    """Queue an automatic email's message to the signed-in user, marked as a test."""
    campaign = _campaign_or_404(campaign_id)
    trigger = _trigger_or_404(campaign, trigger_id)
    try:
        sent_to = campaign_triggers.send_trigger_test(current_user, trigger, str(get_locale()))
    except ValidationFailed as error:
        flash(str(error), "error")
        return _section_response(campaign, trigger.event, status=422)
    flash(_("A test email is queued for %(address)s.", address=sent_to), "success")
    return _section_response(campaign, trigger.event)


# Helpers ----------------------------------------------------------------------------------


def _campaign_or_404(campaign_id: int):
    campaign = campaigns.get_campaign(campaign_id)
    if campaign is None:
        abort(404)
    return campaign


def _trigger_or_404(campaign, trigger_id: int):
    trigger = campaign_triggers.get_trigger(campaign, trigger_id)
    if trigger is None:
        abort(404)
    return trigger


def _event_or_404(event: str) -> str:
    if event not in {e.value for e in EventType}:
        abort(404)
    return event


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


def _campaign_values(form: CampaignForm) -> dict:
    return {
        "label": form.label.data.strip(), "description": form.description.data or "",
        "opens_at": form.opens_at.data, "closes_at": form.closes_at.data,
        "published": form.published.data,
        "managers": campaigns.users_by_ids(form.managers.data or []),
        "evaluators": campaigns.users_by_ids(form.evaluators.data or []),
    }


def _trigger_form(event: str, **kwargs) -> TriggerForm:
    form = TriggerForm(**kwargs)
    # Both sections' forms can be open at once: ids (and so labels) must not repeat. Names
    # stay as they are: each form posts its own.
    for field in form:
        field.id = f"{event}-{field.id}"
        field.label.field_id = field.id
    form.template_id.choices = [SelectChoice("", _("Choose a template"))] + [
        SelectChoice(t.id, t.name) for t in email_templates.list_templates()
    ]
    locale = str(get_locale())
    status_choices = [SelectChoice(s.id, s.label_for(locale)) for s in statuses.all_statuses()]
    form.to_status_id.choices = [SelectChoice("", _("Choose a status"))] + status_choices
    form.from_status_id.choices = [SelectChoice("", _("Any status"))] + status_choices
    return form


def _emails_context(campaign, **extra) -> dict:
    members = campaign_triggers.members_today(campaign)
    reminder_list = reminders.reminders_of(campaign)
    return {
        "campaign": campaign, "tab": "emails", "members": members,
        "stats": campaign_triggers.sending_stats(campaign),
        "can_watch_outbox": permissions.can_watch_outbox(current_user),
        "nobody_warnings": lambda trigger: campaign_triggers.nobody_warnings(campaign, trigger,
                                                                             members),
        "triggers": campaign_triggers.triggers_of(campaign),
        "reminders": reminder_list,
        "outlooks": reminders.outlooks(campaign, reminder_list),
        "held_groups": held_emails.groups(campaign.id),
        "reminder_form": None, "release_form": ReleaseHeldForm(),
        "reminder_editing": None, "held_errors": {},
        "status_labels": {s.id: s.label_for(str(get_locale())) for s in statuses.all_statuses()},
        **_history_context(campaign),
        "has_templates": bool(email_templates.list_templates()),
        "locale": str(get_locale()), "open_event": None, "editing": None, "form": None,
        "focus": None,
        **extra,
    }


def _history_context(campaign) -> dict:
    locale = str(get_locale())
    by_id = {s.id: s for s in statuses.all_statuses()}
    return {"history": campaign_triggers.campaign_history(campaign),
            "explain": lambda entry: campaign_triggers.explain(entry, by_id, locale)}


def _section_response(campaign, event: str, status: int = 200, **extra):
    """htmx: the refreshed section (and the flash, out of band); plain: back to the tab."""
    if not is_htmx():
        return redirect(url_for(".emails", campaign_id=campaign.id), 303)
    html = render_template("campaigns/_section.html", event=event, with_messages=True,
                           **_emails_context(campaign, **extra))
    response = make_response(html, status)
    if status == 200:
        add_trigger(response, "triggerSaved")
    return response


def _save_trigger(campaign, event: str, form: TriggerForm, trigger):
    """The create and edit forms: GET opens it, POST saves ("Sauvegarder et continuer")."""
    editing = trigger.id if trigger else "new"
    if form.validate_on_submit():
        data = campaign_triggers.TriggerInput(
            event=event, template_id=form.template_id.data,
            to_status_id=form.to_status_id.data, from_status_id=form.from_status_id.data,
            to_candidate=form.to_candidate.data, to_actor=form.to_actor.data,
            to_managers=form.to_managers.data, to_evaluators=form.to_evaluators.data,
            extra_addresses=form.extra_addresses.data or "", active=form.active.data,
            delay_minutes=(form.delay_hours.data or 0) * 60,
            hold_for_review=form.hold_for_review.data,
        )
        try:
            saved = campaign_triggers.save_trigger(current_user, campaign, trigger, data,
                                                   str(get_locale()))
        except ValidationFailed as error:
            form.recipient_errors = []  # the recipients fieldset's own messages
            apply_errors(form, error, lists={"recipients": form.recipient_errors})
        else:
            flash(_("Automatic email saved."), "success")
            for warning in campaign_triggers.nobody_warnings(campaign, saved):
                flash(warning, "warning")
            return _section_response(campaign, event, focus=f"row-{saved.id}")
    status = 422 if request.method == "POST" else 200
    context = _emails_context(campaign, open_event=event, editing=editing, form=form)
    if is_htmx():
        html = render_template("campaigns/_section.html", event=event, **context)
        return make_response(html, status)
    return render_template("campaigns/emails.html", **context), status


# Scheduled reminders ----------------------------------------------------------------------


@bp.route("/<int:campaign_id>/emails/reminders")
@platform_managers
def reminders_section(campaign_id: int):
    """The "Scheduled reminders" section, form closed."""
    campaign = _campaign_or_404(campaign_id)
    if not is_htmx():
        return redirect(url_for(".emails", campaign_id=campaign.id))
    return render_template("campaigns/_reminders_section.html", **_emails_context(campaign))


@bp.route("/<int:campaign_id>/emails/reminders/new", methods=["GET", "POST"])
@platform_managers
def new_reminder(campaign_id: int):
    """Create a scheduled reminder."""
    campaign = _campaign_or_404(campaign_id)
    form = _reminder_form(data={"active": True, "to_candidate": True, "offset_amount": 3,
                                "kind": "before_closing"})
    return _save_reminder(campaign, form, reminder=None)


@bp.route("/<int:campaign_id>/reminders/<int:reminder_id>/edit", methods=["GET", "POST"])
@platform_managers
def edit_reminder(campaign_id: int, reminder_id: int):
    """Edit a scheduled reminder in place."""
    campaign = _campaign_or_404(campaign_id)
    reminder = _reminder_or_404(campaign, reminder_id)
    return _save_reminder(campaign, _reminder_form(obj=reminder), reminder=reminder)


@bp.route("/<int:campaign_id>/reminders/<int:reminder_id>/toggle", methods=["POST"])
@platform_managers
def toggle_reminder(campaign_id: int, reminder_id: int):
    """Switch a reminder on or off."""
    campaign = _campaign_or_404(campaign_id)
    reminder = _reminder_or_404(campaign, reminder_id)
    reminders.set_active(current_user, campaign, reminder, not reminder.active,
                         str(get_locale()))
    flash(_("Reminder switched on.") if reminder.active else _("Reminder switched off."),
          "success")
    return _reminders_response(campaign)


@bp.route("/<int:campaign_id>/reminders/<int:reminder_id>/delete", methods=["GET", "POST"])
@platform_managers
def delete_reminder(campaign_id: int, reminder_id: int):
    """Delete a reminder (GET: the confirmation page of the no-JavaScript path)."""
    campaign = _campaign_or_404(campaign_id)
    reminder = _reminder_or_404(campaign, reminder_id)
    if request.method == "GET":
        return render_template("campaigns/confirm_delete_reminder.html", campaign=campaign,
                               reminder=reminder)
    reminders.delete_reminder(current_user, campaign, reminder, str(get_locale()))
    flash(_("Reminder deleted."), "success")
    return _reminders_response(campaign)


def _reminder_or_404(campaign, reminder_id: int):
    reminder = reminders.get_reminder(campaign, reminder_id)
    if reminder is None:
        abort(404)
    return reminder


def _reminder_form(**kwargs) -> ReminderForm:
    form = ReminderForm(**kwargs)
    # Beside the trigger forms on the same page: ids (and so labels) of its own.
    for field in form:
        field.id = f"reminder-{field.id}"
        field.label.field_id = field.id
    form.template_id.choices = [SelectChoice("", _("Choose a template"))] + [
        SelectChoice(t.id, t.name) for t in email_templates.list_templates()
    ]
    locale = str(get_locale())
    choices = [SelectChoice(s.id, s.label_for(locale)) for s in statuses.all_statuses()]
    form.status_id.choices = [SelectChoice("", _("Choose a status"))] + choices
    form.also_status_ids.choices = [c for c in choices
                                    if c.value != statuses.by_code("draft").id]
    return form


def _reminders_response(campaign, status: int = 200):
    if not is_htmx():
        return redirect(url_for(".emails", campaign_id=campaign.id, _anchor="section-reminders"),
                        303)
    html = render_template("campaigns/_reminders_section.html", with_messages=True,
                           **_emails_context(campaign))
    response = make_response(html, status)
    if status == 200:
        add_trigger(response, "triggerSaved")
    return response


def _save_reminder(campaign, form: ReminderForm, reminder):
    """The create and edit forms: GET opens it, POST saves ("Sauvegarder et continuer")."""
    editing = reminder.id if reminder else "new"
    if form.validate_on_submit():
        data = reminders.ReminderInput(
            kind=reminder.kind if reminder else form.kind.data,
            template_id=form.template_id.data, offset_amount=form.offset_amount.data,
            offset_unit=form.offset_unit.data or "days", status_id=form.status_id.data,
            also_status_ids=form.also_status_ids.data or [],
            repeat_every_days=form.repeat_every_days.data, max_times=form.max_times.data,
            to_candidate=form.to_candidate.data, to_managers=form.to_managers.data,
            to_evaluators=form.to_evaluators.data,
            extra_addresses=form.extra_addresses.data or "", active=form.active.data,
        )
        try:
            saved = reminders.save_reminder(current_user, campaign, reminder, data,
                                            str(get_locale()))
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            flash(_("Reminder saved."), "success")
            for warning in campaign_triggers.nobody_warnings(campaign, saved):
                flash(warning, "warning")
            return _reminders_response(campaign)
    status = 422 if request.method == "POST" else 200
    context = _emails_context(campaign, reminder_form=form, reminder_editing=editing,
                              reminder_kind=reminder.kind if reminder else None)
    if is_htmx():
        html = render_template("campaigns/_reminders_section.html", **context)
        return make_response(html, status)
    return render_template("campaigns/emails.html", **context), status


# Held emails ------------------------------------------------------------------------------


@bp.route("/<int:campaign_id>/emails/held")
@platform_managers
def held_section(campaign_id: int):
    """The campaign's emails held for review, per automatic email and status."""
    campaign = _campaign_or_404(campaign_id)
    if not is_htmx():
        return redirect(url_for(".emails", campaign_id=campaign.id, _anchor="section-held"))
    return render_template("campaigns/_held_section.html", **_emails_context(campaign))


@bp.route("/<int:campaign_id>/held/<int:trigger_id>/<int:status_id>/<action>",
          methods=["POST"])
@platform_managers
def act_on_held(campaign_id: int, trigger_id: int, status_id: int, action: str):
    """Release a held group (now, or from a moment) or cancel it: exactly the emails the
    manager saw (the group's version), else 422 with the group as it is now."""
    campaign = _campaign_or_404(campaign_id)
    if action not in ("release", "cancel"):
        abort(404)
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
        except NotAllowed:
            abort(403)
        except ValidationFailed as error:
            errors = error.errors
    context = _emails_context(campaign, held_asking=asking, held_errors={key: [
        m for messages in errors.values() for m in messages]} if errors else {})
    if not is_htmx():
        if errors or asking:  # the page again: why, or the question
            return render_template("campaigns/emails.html", **context), 422 if errors else 200
        return redirect(url_for(".emails", campaign_id=campaign.id, _anchor="section-held"),
                        303)
    html = render_template("campaigns/_held_section.html", with_messages=not errors and not asking,
                           **context)
    response = make_response(html, 422 if errors else 200)
    if not errors and not asking:
        add_trigger(response, "triggerSaved")
        add_trigger(response, "outboxChanged")
    return response
