"""Rendering an automatic email, whatever its kind (a trigger, a reminder, a message rendered
again): the template in the recipient's language, with the application's values, into one
outbox row; a recipient whose email cannot render gets a row stored failed with the reason,
which never stops the others.

`application` is an Application or a light stand-in with the same fields
(`triggers.ApplicationFacts`, in bulk changes)."""

import logging
from email.utils import formataddr, parseaddr
from functools import lru_cache

import jinja2
from flask import current_app
from flask_babel import lazy_gettext as _l
from jinja2 import meta

from webapp import outbox
from webapp.core import text
from webapp.core.errors import ValidationFailed
from webapp.models import Application, EmailTemplate, OutboxPriority, Status, User
from webapp.services import letters, templating
from webapp.services.automatic_emails.audience import Recipient

log = logging.getLogger("missive.triggers")


@lru_cache(maxsize=256)
def text_source(body_html: str, body_text: str) -> str:
    """The text part's template: the written one, else derived once from the HTML template
    (its placeholders survive as text) rather than from each recipient's rendered HTML, which
    costs a parse per email in a bulk change."""
    if body_text.strip():
        return body_text
    # Jinja drops one trailing newline of a template; html_to_text's own must survive.
    derived = templating.html_to_text(body_html) + "\n"
    # Entities such as &#123;&#123; turn into template syntax once decoded: when the derived
    # template differs from the HTML one, derive the text from each rendered email instead.
    return derived if _placeholders(derived) == _placeholders(body_html) else ""


def _placeholders(source: str) -> frozenset[str] | None:
    try:
        return frozenset(meta.find_undeclared_variables(templating.TEXT_ENV.parse(source)))
    except jinja2.TemplateSyntaxError:
        return None


def render(template: EmailTemplate, application, recipient: Recipient,
            old_status: Status | None, new_status: Status | None, actor: User | None):
    """The rendered email, or the exception that stopped it (one recipient's problem)."""
    languages = current_app.config["LANGUAGES"]
    wanted = recipient.locale if recipient.locale in languages else template.default_locale
    version = template.version_for(wanted)
    try:
        ctx = templating.context_for(application, recipient.name or recipient.email,
                                     recipient.email, version.locale, old_status=old_status,
                                     new_status=new_status, actor=actor)
        return templating.render_email(version.subject, version.body_html,
                                       text_source(version.body_html, version.body_text), ctx)
    except templating.RequestBudgetExceeded as error:
        # The whole request is over its time: the action fails cleanly, nothing written.
        raise ValidationFailed(str(_l("%(reason)s Nothing was changed: check the templates of "
                                      "these automatic emails, or change fewer applications "
                                      "at a time.", reason=error))) from error
    except Exception as error:  # noqa: BLE001 — one recipient's email never stops the event
        return error



@lru_cache(maxsize=8)
def _address_of(sender: str) -> str:
    return parseaddr(sender)[1]


def render_row(template: EmailTemplate, application: Application,
               recipient: Recipient, *, key: str, event_type: str, event_id: int,
               trigger_id: int | None = None, old_status: Status | None = None,
               new_status: Status | None = None, actor: User | None = None,
               not_before=None, held: bool = False,
               priority: OutboxPriority = OutboxPriority.NORMAL, rendered=None,
               with_attachments: bool = False, transactional: bool | None = None) -> dict:
    """One outbox row: `template` rendered for `recipient` in their language (or the
    template's; `rendered` when done beforehand), stored failed with the error when rendering
    fails. `transactional`: the automatic email's or reminder's flag (None: by kind)."""
    languages = current_app.config["LANGUAGES"]
    sender_address = _address_of(current_app.config["MAIL_DEFAULT_SENDER"] or "")
    wanted = recipient.locale if recipient.locale in languages else template.default_locale
    version = template.version_for(wanted)
    common = dict(
        key=key, to_addr=recipient.email, to_name=text.strip_controls(recipient.name, False),
        locale=version.locale,
        sender=formataddr((template.sender_name, sender_address))
        if template.sender_name and sender_address else "",
        reply_to=template.reply_to, cc=template.cc, bcc=template.bcc,
        event_type=event_type, event_id=event_id, campaign_id=application.campaign_id,
        application_id=application.id, trigger_id=trigger_id, template_id=template.id,
        recipient_user_id=recipient.user_id, not_before=not_before, held=held,
        priority=priority, transactional=transactional,
    )
    if rendered is None:
        rendered = render(template, application, recipient, old_status, new_status, actor)
    try:
        if isinstance(rendered, Exception):
            raise rendered
        # The template's letters are rendered now, once, and stored by hash (a letter that
        # cannot be made fails this email with the reason, like a template error).
        frozen = letters.freeze_attachments(
            template.id, application, version.locale, old_status=old_status,
            new_status=new_status, actor=actor) if with_attachments else []
        values = outbox.message_values(subject=rendered.subject, body_html=rendered.html,
                                       body_text=rendered.text, **common)
        if frozen:
            values["attachments"] = letters.fit_to_budget(values, frozen, version.locale)
        return values
    except Exception as error:  # noqa: BLE001 — one recipient's email never stops the event
        log.warning("Template %s could not render for application %s (%s %s): %s",
                    template.id, application.id, event_type, event_id, error)
        return outbox.message_values(
            subject=" ".join(version.subject.split())[:300], body_html="", body_text="",
            failed_reason=f"Rendering failed: {error}", **common)
