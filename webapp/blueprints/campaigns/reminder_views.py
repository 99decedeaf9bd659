"""Automatic emails fired by the clock: the "Scheduled reminders" section of the Emails tab.
Each answer redraws only this section (and plans only the reminders).

Routes:
    /<id>/emails/reminders                  the section, form closed
    /<id>/emails/reminders/new              create a reminder
    /<id>/reminders/<rid>/edit|toggle|delete
    (/<id>/reminders/<rid>/preview|test: `sample_views`, shared with triggers)
"""

from flask_babel import gettext as _
from wtforms import SelectChoice

from webapp.blueprints.campaigns import bp, common
from webapp.blueprints.campaigns.forms import ReminderForm
from webapp.blueprints.campaigns.sections import REMINDERS
from webapp.services import campaigns, reminders, statuses

REMINDER = "/<int:campaign_id>/reminders/<int:reminder_id>"


@bp.route("/<int:campaign_id>/emails/reminders")
@common.platform_managers
def reminders_section(campaign_id: int):
    """The "Scheduled reminders" section, form closed."""
    return REMINDERS.closed(campaigns.get(campaign_id))


@bp.route("/<int:campaign_id>/emails/reminders/new", methods=["GET", "POST"])
@common.platform_managers
def new_reminder(campaign_id: int):
    """Create a scheduled reminder."""
    campaign = campaigns.get(campaign_id)
    form = _reminder_form(data={"active": True, "to_candidate": True, "offset_amount": 3,
                                "kind": "before_closing"})
    return _save_reminder(campaign, form, reminder=None)


@common.email_route(f"{REMINDER}/edit", reminders.get_reminder, methods=["GET", "POST"])
def edit_reminder(campaign, reminder):
    """Edit a scheduled reminder in place."""
    return _save_reminder(campaign, _reminder_form(obj=reminder), reminder=reminder)


@common.email_route(f"{REMINDER}/toggle", reminders.get_reminder, methods=["POST"])
def toggle_reminder(campaign, reminder):
    """Switch a reminder on or off."""
    return common.switch(campaign, reminder, reminders.set_active,
                         (_("Reminder switched on."), _("Reminder switched off.")),
                         _answer(campaign))


@common.email_route(f"{REMINDER}/delete", reminders.get_reminder, methods=["GET", "POST"])
def delete_reminder(campaign, reminder):
    """Delete a reminder (GET: the confirmation page of the no-JavaScript path)."""
    return common.delete(campaign, reminder, reminders.delete_reminder,
                         _("Delete this reminder?"), _("Reminder deleted."), _answer(campaign))


def _reminder_form(**kwargs) -> ReminderForm:
    form = common.automatic_email_form(ReminderForm, "reminder", **kwargs)
    choices = [SelectChoice(s.id, s.label_for(common.locale())) for s in statuses.all_statuses()]
    form.status_id.choices = [SelectChoice("", _("Choose a status"))] + choices
    form.also_status_ids.choices = [c for c in choices
                                    if c.value != statuses.by_code("draft").id]
    return form


def answer_for(campaign, _reminder=None):
    """How a change to a reminder is answered: the reminders' section."""
    return _answer(campaign)


def _answer(campaign):
    """htmx: the section refreshed (and the flash, out of band); plain: the tab."""
    return lambda status: REMINDERS.saved(campaign, status)


def _input(reminder, form: ReminderForm) -> reminders.ReminderInput:
    return reminders.ReminderInput(
        kind=reminder.kind if reminder else form.kind.data,
        template_id=form.template_id.data, offset_amount=form.offset_amount.data,
        offset_unit=form.offset_unit.data or "days", status_id=form.status_id.data,
        also_status_ids=form.also_status_ids.data or [],
        repeat_every_days=form.repeat_every_days.data, max_times=form.max_times.data,
        active=form.active.data, transactional=form.transactional.data, **form.recipients(),
    )


def _save_reminder(campaign, form: ReminderForm, reminder):
    return common.save_form(
        campaign, form, reminder, data=lambda form: _input(reminder, form),
        save=reminders.save_reminder, message=_("Reminder saved."),
        saved=lambda _saved: _answer(campaign)(200),
        reopen=lambda status: REMINDERS.reopened(
            campaign, status, reminder_form=form,
            reminder_editing=reminder.id if reminder else "new",
            reminder_kind=reminder.kind if reminder else None))
