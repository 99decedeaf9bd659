"""Preview an automatic email, or send its email to oneself as a test, whatever its kind.

Both render the email's template with example values that fit the email (its campaign, its
closing date, the status it is about) in the reader's language, as `email_templates.preview`
and `email_templates.send_test` do for a template alone: the test goes through the outbox,
urgent and marked as a test, to the signed-in user, with the files the template attaches.
"""

from flask import current_app

from webapp.models import Reminder, Status, Trigger, User
from webapp.services import email_templates, templating

AutomaticEmail = Trigger | Reminder


def _statuses(email: AutomaticEmail) -> tuple[Status | None, Status | None]:
    """The status the email is about and, for a change, the one before."""
    if isinstance(email, Reminder):
        return email.status, None
    return email.to_status, email.from_status


def sample_for(email: AutomaticEmail, locale: str) -> dict[str, str]:
    """Example values that fit this automatic email: its campaign, its statuses."""
    timezone = current_app.config["BABEL_DEFAULT_TIMEZONE"]
    campaign = email.campaign
    sample = {"campaign_label": campaign.label,
              "closing_date": templating.long_date(campaign.closes_at, locale, timezone)}
    status, old_status = _statuses(email)
    if status is not None:
        sample["status_label"] = status.label_for(locale)
    if old_status is not None:
        sample["old_status_label"] = old_status.label_for(locale)
    return sample


def preview(email: AutomaticEmail, locale: str):
    """The email it sends, as a `locale` reader would get it, with example values: (rendered,
    problems) as `email_templates.preview` answers."""
    return email_templates.preview(email_templates.input_from(email.template), locale,
                                   sample=sample_for(email, locale))


def send_test(actor: User, email: AutomaticEmail, locale: str) -> str:
    """"Send me a test": its email to the signed-in user, marked as a test; the address."""
    return email_templates.send_test(actor, email_templates.input_from(email.template),
                                     locale, template=email.template,
                                     sample=sample_for(email, locale))
