"""Automatic emails fired by an event (a submission, a status change): the two trigger
sections of the Emails tab. Each answer redraws only the section of its event.

Routes:
    /<id>/emails/<event>                    one section, closed (the form's Cancel)
    /<id>/emails/<event>/new                create an automatic email
    /<id>/triggers/<tid>/edit               edit one
    /<id>/triggers/<tid>/toggle             switch on / off
    /<id>/triggers/<tid>/delete             delete
    /<id>/triggers/<tid>/preview            its email with example values
    /<id>/triggers/<tid>/test               "Send me a test"
"""

from flask import flash, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from webapp.blueprints.campaigns import bp
from webapp.blueprints.campaigns.common import (
    automatic_email_form,
    campaign_or_404,
    event_or_404,
    found_or_404,
    platform_managers,
    save_automatic_email,
)
from webapp.blueprints.campaigns.forms import TriggerForm
from webapp.blueprints.campaigns.sections import (
    closed_section,
    saved,
    section_or_page,
    triggers_context,
)
from webapp.core.errors import ValidationFailed
from webapp.services import campaign_triggers, statuses

SECTION = "campaigns/_section.html"


@bp.route("/<int:campaign_id>/emails/<event>")
@platform_managers
def section(campaign_id: int, event: str):
    """One section of the Emails tab, form closed."""
    campaign = campaign_or_404(campaign_id)
    event = event_or_404(event)
    return closed_section(SECTION, triggers_context, campaign, focus="create", event=event)


@bp.route("/<int:campaign_id>/emails/<event>/new", methods=["GET", "POST"])
@platform_managers
def new_trigger(campaign_id: int, event: str):
    """Create an automatic email in one section ("Créer un e-mail automatique")."""
    campaign = campaign_or_404(campaign_id)
    event = event_or_404(event)
    form = _trigger_form(event, data={"active": True, "to_candidate": True,
                                      "transactional": True})
    return _save_trigger(campaign, event, form, trigger=None)


@bp.route("/<int:campaign_id>/triggers/<int:trigger_id>/edit", methods=["GET", "POST"])
@platform_managers
def edit_trigger(campaign_id: int, trigger_id: int):
    """Edit an automatic email in place."""
    campaign = campaign_or_404(campaign_id)
    trigger = _trigger_or_404(campaign, trigger_id)
    form = _trigger_form(trigger.event, obj=trigger)
    if request.method == "GET":
        form.delay_hours.data = trigger.delay_minutes // 60 or None
    return _save_trigger(campaign, trigger.event, form, trigger=trigger)


@bp.route("/<int:campaign_id>/triggers/<int:trigger_id>/toggle", methods=["POST"])
@platform_managers
def toggle_trigger(campaign_id: int, trigger_id: int):
    """Switch an automatic email on or off."""
    campaign = campaign_or_404(campaign_id)
    trigger = _trigger_or_404(campaign, trigger_id)
    event = trigger.event
    try:
        campaign_triggers.set_active(current_user, campaign, trigger, not trigger.active,
                                     str(get_locale()))
    except ValidationFailed as error:
        flash(str(error), "error")
        return _saved(campaign, event, status=422, focus=f"switch-{trigger.id}")
    flash(_("Automatic email switched on.") if trigger.active
          else _("Automatic email switched off."), "success")
    return _saved(campaign, event, focus=f"switch-{trigger.id}")


@bp.route("/<int:campaign_id>/triggers/<int:trigger_id>/delete", methods=["GET", "POST"])
@platform_managers
def delete_trigger(campaign_id: int, trigger_id: int):
    """Delete an automatic email (GET: the confirmation page of the no-JavaScript path)."""
    campaign = campaign_or_404(campaign_id)
    trigger = _trigger_or_404(campaign, trigger_id)
    event = trigger.event
    if request.method == "GET":
        return render_template("campaigns/confirm_delete.html", campaign=campaign,
                               trigger=trigger)
    campaign_triggers.delete_trigger(current_user, campaign, trigger, str(get_locale()))
    flash(_("Automatic email deleted."), "success")
    return _saved(campaign, event, focus="heading")


@bp.route("/<int:campaign_id>/triggers/<int:trigger_id>/preview")
@platform_managers
def preview_trigger(campaign_id: int, trigger_id: int):
    """The email an automatic email sends, in the reader's language, with example values."""
    campaign = campaign_or_404(campaign_id)
    trigger = _trigger_or_404(campaign, trigger_id)
    rendered, problems = campaign_triggers.preview_trigger(trigger, str(get_locale()))
    return render_template("campaigns/trigger_preview.html", campaign=campaign,
                           trigger=trigger, rendered=rendered, problems=problems)


@bp.route("/<int:campaign_id>/triggers/<int:trigger_id>/test", methods=["POST"])
@platform_managers
def test_trigger(campaign_id: int, trigger_id: int):
    """Queue an automatic email's message to the signed-in user, marked as a test."""
    campaign = campaign_or_404(campaign_id)
    trigger = _trigger_or_404(campaign, trigger_id)
    try:
        sent_to = campaign_triggers.send_trigger_test(current_user, trigger, str(get_locale()))
    except ValidationFailed as error:
        flash(str(error), "error")
        return _saved(campaign, trigger.event, status=422)
    flash(_("A test email is queued for %(address)s.", address=sent_to), "success")
    return _saved(campaign, trigger.event)


def _trigger_or_404(campaign, trigger_id: int):
    return found_or_404(campaign_triggers.get_trigger(campaign, trigger_id))


def _trigger_form(event: str, **kwargs) -> TriggerForm:
    form = automatic_email_form(TriggerForm, event, **kwargs)
    locale = str(get_locale())
    status_choices = [SelectChoice(s.id, s.label_for(locale)) for s in statuses.all_statuses()]
    form.to_status_id.choices = [SelectChoice("", _("Choose a status"))] + status_choices
    form.from_status_id.choices = [SelectChoice("", _("Any status"))] + status_choices
    return form


def _saved(campaign, event: str, status: int = 200, **extra):
    """htmx: the event's section refreshed (and the flash, out of band); plain: the tab."""
    return saved(SECTION, {**triggers_context(campaign, **extra), "event": event},
                 status=status)


def _save_trigger(campaign, event: str, form: TriggerForm, trigger):
    """The create and edit forms: GET opens it, POST saves ("Sauvegarder et continuer")."""
    editing = trigger.id if trigger else "new"
    if form.validate_on_submit():
        data = campaign_triggers.TriggerInput(
            event=event, template_id=form.template_id.data,
            to_status_id=form.to_status_id.data, from_status_id=form.from_status_id.data,
            active=form.active.data, delay_minutes=(form.delay_hours.data or 0) * 60,
            hold_for_review=form.hold_for_review.data, transactional=form.transactional.data,
            **form.recipients(),
        )
        saved_trigger = save_automatic_email(
            campaign, form, lambda: campaign_triggers.save_trigger(
                current_user, campaign, trigger, data, str(get_locale())),
            _("Automatic email saved."))
        if saved_trigger is not None:
            return _saved(campaign, event, focus=f"row-{saved_trigger.id}")
    status = 422 if request.method == "POST" else 200
    return section_or_page(SECTION, triggers_context, campaign, status, open_event=event,
                           editing=editing, form=form, section={"event": event})
