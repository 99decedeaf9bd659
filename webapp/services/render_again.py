"""Rendering an outbox row again: a row whose template failed for its recipient holds the raw
subject and no body, and is never sent as it is. Retrying or resending it renders it again,
with its template's current version and the facts of its event, for the same recipient in the
same language; the outbox calls `render_again` (registered by the app) for that."""

from flask_babel import lazy_gettext as _l

from webapp.core.errors import ValidationFailed
from webapp.extensions import db
from webapp.models import (
    Application,
    EmailTemplate,
    EventType,
    OutboxState,
    StatusChange,
)
from webapp.services import triggers
from webapp.services.automatic_emails import rendering

CONTENT = ("subject", "body_html", "body_text", "locale", "sender", "reply_to", "cc", "bcc")
REMINDER = "reminder"


def render_again(message) -> dict:
    """`message` (an outbox row): its content columns rendered again with its template's
    current version; raises ValidationFailed with the reason when it cannot be (or still
    does not render)."""
    template = db.session.get(EmailTemplate, message.template_id) if message.template_id else None
    if template is None:
        raise ValidationFailed(str(_l("its template no longer exists.")))
    events = (EventType.SUBMITTED.value, EventType.STATUS_CHANGED.value, REMINDER)
    if message.event_type not in events:
        raise ValidationFailed(str(_l("only an automatic email about an application can be "
                                      "rendered again.")))
    application = (db.session.get(Application, message.application_id)
                   if message.application_id else None)
    if application is None:
        raise ValidationFailed(str(_l("its application no longer exists.")))
    old_status = actor = None
    new_status = application.status
    if message.event_type != REMINDER:
        change = db.session.get(StatusChange, message.event_id) if message.event_id else None
        if change is None or change.application_id != application.id:
            raise ValidationFailed(str(_l("the status change it announced no longer exists.")))
        old_status, new_status, actor = change.from_status, change.to_status, change.changed_by
    recipient = triggers.Recipient(message.to_addr, message.to_name, message.locale,
                                   message.recipient_user_id)
    row = rendering.render_row(template, application, recipient, key=message.dedupe_key,
                              event_type=message.event_type, event_id=message.event_id,
                              trigger_id=message.trigger_id, old_status=old_status,
                              new_status=new_status, actor=actor)
    if row["state"] == OutboxState.FAILED.value:
        raise ValidationFailed(str(_l("it still does not render with the current template "
                                      "(%(error)s).", error=row["last_error"])))
    return {name: row[name] for name in CONTENT}
