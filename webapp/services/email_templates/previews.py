"""Email templates tried: a preview rendered for an application, and a test email to
oneself."""

import logging
import uuid
from email.utils import formataddr, parseaddr

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from webapp import outbox
from webapp.core import audit
from webapp.core.errors import ValidationFailed
from webapp.extensions import db
from webapp.models import (
    Application,
    EmailTemplate,
    OutboxPriority,
    User,
)
from webapp.services import letters, secret_links, templating
from webapp.services.email_templates.checking import (
    render_context,
    sanitize_html,
    validate,
)
from webapp.services.email_templates.reading import TemplateInput, VersionInput

log = logging.getLogger("missive.email_templates")


def preview(data: TemplateInput, locale: str, application: Application | None = None,
            sample: dict[str, str] | None = None) -> tuple[templating.RenderedEmail | None,
                                                           list[str]]:
    """The message as `locale` readers would get it (sample values, some of them given by
    `sample`, or a real application's), or the problems that stop it from rendering. System
    templates concern no application: always sample values."""
    if data.system_key:
        application = None
    version = data.versions.get(locale)
    if version is None or version.is_empty:
        locale = data.default_locale
        version = data.versions.get(locale) or VersionInput()
    if version.is_empty:
        return None, []  # nothing written yet
    problems = [message for part in ("subject", "body_html", "body_text")
                for message in templating.find_problems(getattr(version, part),
                                                        data.placeholder_names)]
    if data.system_key and not problems:
        leaks = secret_links.problems(version.subject, version.body_html, version.body_text,
                                      current_app.config["BASE_URL"])
        problems = [message for messages in leaks.values() for message in messages]
    if problems:
        return None, problems
    try:
        rendered = templating.render_email(version.subject, sanitize_html(version.body_html),
                                           version.body_text,
                                           render_context(application, None, locale, sample))
    except templating.TemplateProblem as error:
        return None, [str(error)]
    return rendered, []


def send_test(actor: User, data: TemplateInput, locale: str,
              application: Application | None = None,
              template: EmailTemplate | None = None,
              sample: dict[str, str] | None = None) -> str:
    """Queue the previewed message to the signed-in user, marked as a test; returns the
    address."""
    errors = {k: v for k, v in validate(data, template).items() if k != "name"}
    if errors:
        raise ValidationFailed(errors)
    rendered, problems = preview(data, locale, application, sample)
    if rendered is None:
        raise ValidationFailed({"": problems})
    sender = ""
    if data.sender_name.strip():
        _, address = _configured_sender()
        sender = formataddr((data.sender_name.strip(), address))
    # The letters and documents the template attaches, as its real emails would carry them.
    files = letters.test_attachments(template.id, locale, application) if template else []
    message = outbox.enqueue(
        key=f"test:{uuid.uuid4().hex}", to_addr=actor.email, to_name=actor.name,
        subject=test_subject(rendered.subject, actor.locale), body_html=rendered.html,
        body_text=rendered.text,
        sender=sender, reply_to=data.reply_to.strip(), locale=locale, is_test=True,
        event_type="test", template_id=template.id if template else None,
        application_id=application.id if application else None, recipient_user_id=actor.id,
        priority=OutboxPriority.URGENT,
    )
    if files:
        db.session.flush()
        outbox.add_attachments({message.message_id: files})
    audit.record(actor, "email_template.test_sent", "email_template",
                 template.id if template else None, actor.email)
    db.session.commit()
    log.info("Test of template %s queued for %s", template.id if template else "(new)",
             actor.email)
    return actor.email


def test_subject(subject: str, recipient_locale: str | None) -> str:
    """A test's subject says it is one, in the language of the person who receives it."""
    languages = current_app.config["LANGUAGES"]
    locale = recipient_locale if recipient_locale in languages else \
        current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(locale):
        return str(_l("[Test] %(subject)s", subject=subject))[:300]


def _configured_sender() -> tuple[str, str]:
    configured = current_app.config["MAIL_DEFAULT_SENDER"]
    if isinstance(configured, tuple):
        return configured
    return parseaddr(configured)
