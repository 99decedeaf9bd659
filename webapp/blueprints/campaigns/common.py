"""What every view of the campaigns blueprint shares: who may use it, and the one path that
every kind of automatic email (a trigger, a reminder) takes to be opened, saved, switched
and deleted (its preview and test: `sample_views`).

Objects are loaded by the services' loaders (`campaigns.get`, `campaign_triggers.get_trigger`,
`reminders.get_reminder`), which raise NotFound; the app-wide handlers answer 404: a route of
one automatic email (`email_route`) gets its campaign and email loaded. Each kind's
views module says what is its own: its form, its service's input, its section
(`sections.Section`).
"""

import functools
from collections.abc import Callable

from flask import flash, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from webapp.blueprints.campaigns import bp
from webapp.core.errors import ValidationFailed
from webapp.models import Role
from webapp.services import campaign_triggers, campaigns, email_templates
from webapp.web.access import role_required

platform_managers = role_required(Role.ADMIN, Role.MANAGER)

# How a kind answers after a change: its section redrawn, with this HTTP status.
Answer = Callable[[int], object]


def locale() -> str:
    return str(get_locale())


def email_route(rule: str, get_email: Callable, **options):
    """A route of one automatic email, for platform managers: `rule` holds the campaign's id
    (`campaign_id`) and the email's (named for its kind); both are loaded, `get_email` being
    the kind's loader, and the view is called as `view(campaign, email)`."""
    def register(view):
        @functools.wraps(view)
        def route(campaign_id: int, **email_id: int):
            campaign = campaigns.get(campaign_id)
            (email_id_value,) = email_id.values()
            return view(campaign, get_email(campaign, email_id_value))
        return bp.route(rule, **options)(platform_managers(route))
    return register


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


def save_form(campaign, form, email, *, data: Callable, save: Callable, message: str,
              saved: Callable, reopen: Answer):
    """The create (email=None) and edit forms of every kind: GET opens the form, POST saves
    ("Sauvegarder et continuer"). Saved, `message` and the recipient choices that reach
    nobody today are flashed and `saved(email)` answers; else `reopen(status)` shows the form
    again, with the service's refusal next to its fields (422)."""
    if form.validate_on_submit():
        try:
            email = save(current_user, campaign, email, data(form), locale())
        except ValidationFailed as error:
            form.show_errors(error)
        else:
            flash(message, "success")
            for warning in campaign_triggers.nobody_warnings(campaign, email):
                flash(warning, "warning")
            return saved(email)
    return reopen(422 if request.method == "POST" else 200)


def delete(campaign, email, delete_email: Callable, question: str, message: str,
           answer: Answer):
    """Delete an automatic email: GET asks `question` first (the no-JavaScript path's
    confirmation page, which posts to the same URL); POST deletes, flashes `message` and
    answers."""
    if request.method == "GET":
        return render_template("campaigns/confirm_delete.html", campaign=campaign, email=email,
                               question=question, delete_url=request.path)
    delete_email(current_user, campaign, email, locale())
    flash(message, "success")
    return answer(200)


def switch(campaign, email, set_active: Callable, messages: tuple[str, str], answer: Answer):
    """Switch an automatic email on or off (`messages`: switched on, switched off); a refusal
    (a duplicate switched on) is flashed with a 422."""
    try:
        set_active(current_user, campaign, email, not email.active, locale())
    except ValidationFailed as error:
        flash(str(error), "error")
        return answer(422)
    flash(messages[0] if email.active else messages[1], "success")
    return answer(200)
