"""What every view of the campaigns blueprint shares: who may use it, loading a campaign or one
of its automatic emails (404 when it does not exist), and the forms of automatic emails."""

from flask import abort, flash
from flask_babel import gettext as _
from wtforms import SelectChoice

from webapp.core.errors import ValidationFailed
from webapp.models import EventType, Role
from webapp.services import campaign_triggers, campaigns, email_templates
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


def found_or_404(thing):
    """A campaign's automatic email as its service found it, else 404."""
    if thing is None:
        abort(404)
    return thing


def automatic_email_form(form_class, prefix: str, **kwargs):
    """The form of one kind of automatic email: its ids prefixed, since several forms can be
    open on the Emails tab at once (ids, and so labels, must not repeat; names stay as they
    are: each form posts its own), and its templates to choose from."""
    form = form_class(**kwargs)
    for field in form:
        field.id = f"{prefix}-{field.id}"
        field.label.field_id = field.id
    form.template_id.choices = [SelectChoice("", _("Choose a template"))] + [
        SelectChoice(t.id, t.name) for t in email_templates.list_templates()
    ]
    return form


def save_automatic_email(campaign, form, save, message: str):
    """Save an automatic email of any kind with `save()`: the saved email, announced by
    `message` and the recipient choices that reach nobody today; or None, the service's
    refusal shown on the form."""
    try:
        email = save()
    except ValidationFailed as error:
        form.show_errors(error)
        return None
    flash(message, "success")
    for warning in campaign_triggers.nobody_warnings(campaign, email):
        flash(warning, "warning")
    return email
