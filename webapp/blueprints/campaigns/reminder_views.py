"""Automatic emails fired by the clock: the "Scheduled reminders" section of the Emails tab.
Each answer redraws only this section (and plans only the reminders).

Routes:
    /<id>/emails/reminders                  the section, form closed
    /<id>/emails/reminders/new              create a reminder
    /<id>/reminders/<rid>/edit|toggle|delete
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
    found_or_404,
    platform_managers,
    save_automatic_email,
)
from webapp.blueprints.campaigns.forms import ReminderForm
from webapp.blueprints.campaigns.sections import (
    closed_section,
    reminders_context,
    saved,
    section_or_page,
)
from webapp.services import reminders, statuses

SECTION = "campaigns/_reminders_section.html"


@bp.route("/<int:campaign_id>/emails/reminders")
@platform_managers
def reminders_section(campaign_id: int):
    """The "Scheduled reminders" section, form closed."""
    campaign = campaign_or_404(campaign_id)
    return closed_section(SECTION, reminders_context, campaign)


@bp.route("/<int:campaign_id>/emails/reminders/new", methods=["GET", "POST"])
@platform_managers
def new_reminder(campaign_id: int):
    """Create a scheduled reminder."""
    campaign = campaign_or_404(campaign_id)
    form = _reminder_form(data={"active": True, "to_candidate": True, "offset_amount": 3,
                                "kind": "before_closing"})
    return _save_reminder(campaign, form, reminder=None)


@bp.route("/<int:campaign_id>/reminders/<int:reminder_id>/edit", methods=["GET", "POST"])
@platform_managers
def edit_reminder(campaign_id: int, reminder_id: int):
    """Edit a scheduled reminder in place."""
    campaign = campaign_or_404(campaign_id)
    reminder = _reminder_or_404(campaign, reminder_id)
    return _save_reminder(campaign, _reminder_form(obj=reminder), reminder=reminder)


@bp.route("/<int:campaign_id>/reminders/<int:reminder_id>/toggle", methods=["POST"])
@platform_managers
def toggle_reminder(campaign_id: int, reminder_id: int):
    """Switch a reminder on or off."""
    campaign = campaign_or_404(campaign_id)
    reminder = _reminder_or_404(campaign, reminder_id)
    reminders.set_active(current_user, campaign, reminder, not reminder.active,
                         str(get_locale()))
    flash(_("Reminder switched on.") if reminder.active else _("Reminder switched off."),
          "success")
    return _saved(campaign)


@bp.route("/<int:campaign_id>/reminders/<int:reminder_id>/delete", methods=["GET", "POST"])
@platform_managers
def delete_reminder(campaign_id: int, reminder_id: int):
    """Delete a reminder (GET: the confirmation page of the no-JavaScript path)."""
    campaign = campaign_or_404(campaign_id)
    reminder = _reminder_or_404(campaign, reminder_id)
    if request.method == "GET":
        return render_template("campaigns/confirm_delete_reminder.html", campaign=campaign,
                               reminder=reminder)
    reminders.delete_reminder(current_user, campaign, reminder, str(get_locale()))
    flash(_("Reminder deleted."), "success")
    return _saved(campaign)


def _reminder_or_404(campaign, reminder_id: int):
    return found_or_404(reminders.get_reminder(campaign, reminder_id))


def _reminder_form(**kwargs) -> ReminderForm:
    form = automatic_email_form(ReminderForm, "reminder", **kwargs)
    locale = str(get_locale())
    choices = [SelectChoice(s.id, s.label_for(locale)) for s in statuses.all_statuses()]
    form.status_id.choices = [SelectChoice("", _("Choose a status"))] + choices
    form.also_status_ids.choices = [c for c in choices
                                    if c.value != statuses.by_code("draft").id]
    return form


def _saved(campaign):
    return saved(SECTION, reminders_context(campaign), anchor="section-reminders")


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
            active=form.active.data, transactional=form.transactional.data, **form.recipients(),
        )
        if save_automatic_email(campaign, form, lambda: reminders.save_reminder(
                current_user, campaign, reminder, data, str(get_locale())),
                _("Reminder saved.")) is not None:
            return _saved(campaign)
    status = 422 if request.method == "POST" else 200
    return section_or_page(SECTION, reminders_context, campaign, status, reminder_form=form,
                           reminder_editing=editing,
                           reminder_kind=reminder.kind if reminder else None)
