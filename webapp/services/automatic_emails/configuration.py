"""What the configuration of every kind of automatic email shares (`campaign_triggers`,
`reminders`): loading one of a campaign's emails, the settings every kind's form checks the
same way (its recipients, on / off, transactional), and how those settings stand in the
audit trail (the one-line summary's recipients, the snapshot).

Each kind checks what is its own (an event and statuses, a moment), then hands its errors
and values to `validated`."""

from flask_babel import lazy_gettext as _l

from webapp.core.errors import NotFound, ValidationFailed
from webapp.extensions import db
from webapp.models import Campaign, EmailTemplate, Reminder, Trigger
from webapp.services.automatic_emails.audience import RECIPIENT_FLAGS, check_recipients, chosen


def get(model: type[Trigger] | type[Reminder], campaign: Campaign,
        email_id: int) -> Trigger | Reminder:
    """The campaign's email of `model`: NotFound if there is none (another campaign's is
    none)."""
    email = db.session.get(model, email_id)
    if email is None or email.campaign_id != campaign.id:
        raise NotFound()
    return email


def template_errors(template_id: int | None) -> dict[str, list[str]]:
    """An automatic email sends one of the managers' templates: not a platform one (account
    emails, bounce notices), which the form never offers but a crafted request could name."""
    template = db.session.get(EmailTemplate, template_id) if template_id else None
    if template is None or template.system_key:
        return {"template_id": [str(_l("Choose an email template."))]}
    return {}


def validated(data, flags: tuple[str, ...], errors: dict[str, list[str]],
              values: dict) -> dict:
    """The cleaned values of a kind's form: to the kind's own `errors` and `values`, the
    settings every kind has (the recipient choices of `flags` and the fixed addresses,
    on / off, transactional); ValidationFailed with the errors by field if there is one."""
    recipient_errors, recipients = check_recipients(data, flags)
    errors.update(recipient_errors)
    if errors:
        raise ValidationFailed(errors)
    values.update(recipients)
    values["active"] = bool(data.active)
    values["transactional"] = bool(data.transactional)
    return values


def recipient_codes(email: Trigger | Reminder) -> list[str]:
    """The recipients an email chose, as codes ("candidate", "managers", ...)."""
    return [flag.removeprefix("to_") for flag in RECIPIENT_FLAGS if chosen(email, flag)]


def recipients_summary(email: Trigger | Reminder) -> str:
    """The recipients of the one-line summary: "[candidate, managers, a@example.org]"."""
    recipients = recipient_codes(email)
    if email.extra_addresses:
        recipients.append(email.extra_addresses)
    return "[" + ", ".join(recipients) + "]"


def snapshot(email: Trigger | Reminder, **own) -> dict:
    """An email as ids and codes, for the audit trail: its template, what is its kind's
    (`own`), its recipients and switches."""
    return {
        "template_id": email.template_id, "template": email.template.name, **own,
        "recipients": recipient_codes(email), "addresses": email.extra_addresses or "",
        "active": bool(email.active), "transactional": bool(email.transactional),
    }
