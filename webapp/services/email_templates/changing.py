"""Email templates changed: saved (a new version), duplicated, deleted; each one unit of
work, audited."""

import logging

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from webapp.core import audit
from webapp.core.addresses import normalize_email, parse_address_list
from webapp.core.errors import ValidationFailed
from webapp.extensions import db
from webapp.models import (
    Application,
    EmailTemplate,
    EmailTemplateVersion,
    Reminder,
    User,
)
from webapp.services.email_templates.checking import sanitize_html, validate
from webapp.services.email_templates.reading import (
    LOCALES,
    TemplateInput,
    VersionInput,
    find_by_name,
    triggers_using,
)

log = logging.getLogger("missive.email_templates")


def _apply(template: EmailTemplate, data: TemplateInput) -> None:
    template.name = data.name.strip()
    template.default_locale = data.default_locale
    template.sender_name = data.sender_name.strip()
    template.reply_to = normalize_email(data.reply_to) if data.reply_to.strip() else ""
    template.cc = ", ".join(parse_address_list(data.cc))
    template.bcc = ", ".join(parse_address_list(data.bcc))
    existing = {v.locale: v for v in template.versions}
    for locale in LOCALES:
        version_input = data.versions.get(locale) or VersionInput()
        if version_input.is_empty:
            if locale in existing:
                template.versions.remove(existing[locale])
            continue
        version = existing.get(locale)
        if version is None:
            version = EmailTemplateVersion(locale=locale)
            template.versions.append(version)
        version.subject = " ".join(version_input.subject.split())
        version.body_html = sanitize_html(version_input.body_html)
        version.body_text = version_input.body_text.strip()


def _snapshot(template: EmailTemplate) -> dict[str, str]:
    """Field values by name (versions as `subject [fr]`, …), to say what an edit changed."""
    values = {name: getattr(template, name) for name in
              ("name", "default_locale", "sender_name", "reply_to", "cc", "bcc")}
    for version in template.versions:
        for part in ("subject", "body_html", "body_text"):
            values[f"{part} [{version.locale}]"] = getattr(version, part)
    return values


def save_template(actor: User, template: EmailTemplate | None, data: TemplateInput,
                  application: Application | None = None) -> EmailTemplate:
    """Create (template=None) or edit a template; nothing changes when anything is invalid
    (including a render with `application`'s values, the one chosen in the preview)."""
    errors = validate(data, template, application)
    if errors:
        raise ValidationFailed(errors)
    created = template is None
    if created:
        template = EmailTemplate(name=data.name.strip())
        db.session.add(template)
        before = {}
    else:
        before = _snapshot(template)
    _apply(template, data)
    db.session.flush()
    summary = template.name
    if not created:
        after = _snapshot(template)
        changed = sorted(key for key in before.keys() | after.keys()
                         if before.get(key) != after.get(key))
        summary = f"{template.name}: {', '.join(changed) or '-'}"
    audit.record(actor, "email_template.created" if created else "email_template.updated",
                 "email_template", template.id, summary)
    db.session.commit()
    log.info("Template %s %s by %s", template.id, "created" if created else "saved",
             actor.email)
    return template


def duplicate_template(actor: User, template: EmailTemplate) -> EmailTemplate:
    """A copy named "<name> (copy)", "(copy 2)", … with the same versions and headers (a copy
    of a system template is a campaign template, so it must fit the campaign placeholders)."""
    base = str(_l("%(name)s (copy)", name=template.name))
    name, n = base, 1
    while find_by_name(name) is not None:
        n += 1
        name = f"{base[:-1]} {n})"
    copy = EmailTemplate(name=name, default_locale=template.default_locale,
                         sender_name=template.sender_name, reply_to=template.reply_to,
                         cc=template.cc, bcc=template.bcc)
    copy.versions = [EmailTemplateVersion(locale=v.locale, subject=v.subject,
                                          body_html=v.body_html, body_text=v.body_text)
                     for v in template.versions]
    db.session.add(copy)
    db.session.flush()
    audit.record(actor, "email_template.created", "email_template", copy.id,
                 str(_l("copy of %(name)s", name=template.name)))
    db.session.commit()
    return copy


def delete_template(actor: User, template: EmailTemplate) -> None:
    """Delete a template no trigger uses; otherwise refuse, naming the triggers. The platform's
    system templates are never deleted: account emails need them."""
    if template.system_key:
        raise ValidationFailed(str(_l("This is a system template: it can be edited, not "
                                      "deleted.")))
    used_by = triggers_using([template.id])[template.id]
    if used_by:
        names = "; ".join(f"{t.campaign.label} #{t.id}" for t in used_by)
        raise ValidationFailed(str(_l(
            "This template is used by automatic emails and cannot be deleted: %(triggers)s",
            triggers=names)))
    reminders = db.session.scalars(sa.select(Reminder).where(Reminder.template_id == template.id)
                                   .order_by(Reminder.id)).all()
    if reminders:
        names = "; ".join(f"{r.campaign.label} #{r.id}" for r in reminders)
        raise ValidationFailed(str(_l(
            "This template is used by scheduled reminders and cannot be deleted: %(reminders)s",
            reminders=names)))
    audit.record(actor, "email_template.deleted", "email_template", template.id, template.name)
    db.session.delete(template)
    db.session.commit()
    log.info("Template %s deleted by %s", template.id, actor.email)
