"""Preview an automatic email and send it to oneself as a test: one pair of routes for every
kind (`KINDS`, by the URL's segment), each kind answering with its own section.

Routes:
    /<id>/triggers/<tid>/preview, /<id>/reminders/<rid>/preview   its email, example values
    /<id>/triggers/<tid>/test, /<id>/reminders/<rid>/test         "Send me a test"
"""

from flask import flash, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.blueprints.campaigns import bp, reminder_views, trigger_views
from webapp.blueprints.campaigns.common import locale, platform_managers
from webapp.core.errors import ValidationFailed
from webapp.services import campaign_triggers, campaigns, reminders
from webapp.services.automatic_emails import samples

# Each kind: its loader (NotFound when the campaign has no such email) and its answer.
KINDS = {
    "triggers": (campaign_triggers.get_trigger, trigger_views.answer_for),
    "reminders": (reminders.get_reminder, reminder_views.answer_for),
}
KIND = "<any(triggers, reminders):kind>"  # the keys of KINDS


def _load(campaign_id: int, kind: str, email_id: int):
    campaign = campaigns.get(campaign_id)
    load, _answer = KINDS[kind]
    return campaign, load(campaign, email_id)


@bp.route(f"/<int:campaign_id>/{KIND}/<int:email_id>/preview")
@platform_managers
def preview_automatic_email(campaign_id: int, kind: str, email_id: int):
    """The email an automatic email sends, in the reader's language, with example values."""
    campaign, email = _load(campaign_id, kind, email_id)
    rendered, problems = samples.preview(email, locale())
    return render_template(
        "campaigns/automatic_email_preview.html", campaign=campaign, email=email,
        rendered=rendered, problems=problems,
        test_url=url_for(".test_automatic_email", campaign_id=campaign.id, kind=kind,
                         email_id=email.id))


@bp.route(f"/<int:campaign_id>/{KIND}/<int:email_id>/test", methods=["POST"])
@platform_managers
def test_automatic_email(campaign_id: int, kind: str, email_id: int):
    """"Send me a test": the automatic email's message queued to the signed-in user, marked
    as a test; its kind's section answers with the message (or why not, 422)."""
    campaign, email = _load(campaign_id, kind, email_id)
    answer = KINDS[kind][1](campaign, email)
    try:
        sent_to = samples.send_test(current_user, email, locale())
    except ValidationFailed as error:
        flash(str(error), "error")
        return answer(422)
    flash(_("A test email is queued for %(address)s.", address=sent_to), "success")
    return answer(200)
