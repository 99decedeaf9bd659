"""Automatic emails fired by an event (a submission, a status change): the two trigger
sections of the Emails tab. Each answer redraws only the section of its event.

Routes:
    /<id>/emails/<event>                    one section, closed (the form's Cancel)
    /<id>/emails/<event>/new                create an automatic email
    /<id>/triggers/<tid>/edit               edit one
    /<id>/triggers/<tid>/toggle             switch on / off
    /<id>/triggers/<tid>/delete             delete
    (/<id>/triggers/<tid>/preview|test: `sample_views`, shared with reminders)
"""

from flask import request
from flask_babel import gettext as _
from wtforms import SelectChoice

from webapp.blueprints.campaigns import bp, common
from webapp.blueprints.campaigns.forms import TriggerForm
from webapp.blueprints.campaigns.sections import TRIGGERS
from webapp.services import campaign_triggers, campaigns, statuses

EVENTS = "<any(submitted, status_changed):event>"  # the EventType values
TRIGGER = "/<int:campaign_id>/triggers/<int:trigger_id>"


@bp.route(f"/<int:campaign_id>/emails/{EVENTS}")
@common.platform_managers
def section(campaign_id: int, event: str):
    """One section of the Emails tab, form closed."""
    campaign = campaigns.get(campaign_id)
    return TRIGGERS.closed(campaign, focus="create", event=event)


@bp.route(f"/<int:campaign_id>/emails/{EVENTS}/new", methods=["GET", "POST"])
@common.platform_managers
def new_trigger(campaign_id: int, event: str):
    """Create an automatic email in one section ("Créer un e-mail automatique")."""
    campaign = campaigns.get(campaign_id)
    form = _trigger_form(event, data={"active": True, "to_candidate": True,
                                      "transactional": True})
    return _save_trigger(campaign, event, form, trigger=None)


@common.email_route(f"{TRIGGER}/edit", campaign_triggers.get_trigger, methods=["GET", "POST"])
def edit_trigger(campaign, trigger):
    """Edit an automatic email in place."""
    form = _trigger_form(trigger.event, obj=trigger)
    if request.method == "GET":
        form.delay_hours.data = trigger.delay_minutes // 60 or None
    return _save_trigger(campaign, trigger.event, form, trigger=trigger)


@common.email_route(f"{TRIGGER}/toggle", campaign_triggers.get_trigger, methods=["POST"])
def toggle_trigger(campaign, trigger):
    """Switch an automatic email on or off."""
    return common.switch(campaign, trigger, campaign_triggers.set_active,
                         (_("Automatic email switched on."), _("Automatic email switched off.")),
                         answer_for(campaign, trigger))


@common.email_route(f"{TRIGGER}/delete", campaign_triggers.get_trigger, methods=["GET", "POST"])
def delete_trigger(campaign, trigger):
    """Delete an automatic email (GET: the confirmation page of the no-JavaScript path)."""
    return common.delete(campaign, trigger, campaign_triggers.delete_trigger,
                         _("Delete this automatic email?"), _("Automatic email deleted."),
                         _answer(campaign, trigger.event, focus="heading"))


def _trigger_form(event: str, **kwargs) -> TriggerForm:
    form = common.automatic_email_form(TriggerForm, event, **kwargs)
    status_choices = [SelectChoice(s.id, s.label_for(common.locale()))
                      for s in statuses.all_statuses()]
    form.to_status_id.choices = [SelectChoice("", _("Choose a status"))] + status_choices
    form.from_status_id.choices = [SelectChoice("", _("Any status"))] + status_choices
    return form


def answer_for(campaign, trigger):
    """How a change to `trigger` is answered: its event's section."""
    return _answer(campaign, trigger.event)


def _answer(campaign, event: str, **extra):
    """htmx: the event's section refreshed (and the flash, out of band); plain: the tab."""
    return lambda status: TRIGGERS.saved(campaign, status, event=event, **extra)


def _input(event: str, form: TriggerForm) -> campaign_triggers.TriggerInput:
    return campaign_triggers.TriggerInput(
        event=event, template_id=form.template_id.data,
        to_status_id=form.to_status_id.data, from_status_id=form.from_status_id.data,
        active=form.active.data, delay_minutes=(form.delay_hours.data or 0) * 60,
        hold_for_review=form.hold_for_review.data, transactional=form.transactional.data,
        **form.recipients(),
    )


def _save_trigger(campaign, event: str, form: TriggerForm, trigger):
    return common.save_form(
        campaign, form, trigger, data=lambda form: _input(event, form),
        save=campaign_triggers.save_trigger, message=_("Automatic email saved."),
        saved=lambda saved_trigger: _answer(campaign, event,
                                            focus=f"row-{saved_trigger.id}")(200),
        reopen=lambda status: TRIGGERS.reopened(
            campaign, status, open_event=event,
            editing=trigger.id if trigger else "new", form=form, section={"event": event}))
