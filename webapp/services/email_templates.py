"""Email templates: create, edit, duplicate, delete, preview, test, and the default
acknowledgement of receipt."""

import logging
import re
import secrets
import uuid
from dataclasses import dataclass, field
from email.utils import formataddr, parseaddr

import jinja2
import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from jinja2 import nodes

from webapp import outbox
from webapp.core import audit
from webapp.core.addresses import InvalidAddress, normalize_email, parse_address_list
from webapp.core.errors import NotAllowed, NotFound, ValidationFailed
from webapp.core.paging import Page, Sort, offset_page
from webapp.extensions import db
from webapp.models import (
    Application,
    AuditEntry,
    EmailTemplate,
    EmailTemplateVersion,
    OutboxPriority,
    Reminder,
    Trigger,
    User,
)
from webapp.services import html_policy, letters, permissions, secret_links, templating

log = logging.getLogger("missive.email_templates")

LOCALES = ("fr", "en")

DEFAULT_ACKNOWLEDGEMENT = {
    "fr": (
        "Accusé de réception : {{ campaign_label }}",
        "<p>Bonjour {{ recipient_name }},</p>"
        "<p>Nous avons bien reçu votre candidature <strong>{{ application_reference }}</strong> "
        "à la campagne « {{ campaign_label }} ».</p>"
        "<p>Vous pouvez suivre son statut ici : "
        '<a href="{{ application_url }}">{{ application_url }}</a></p>'
        "<p>L'équipe {{ platform_name }}</p>",
    ),
    "en": (
        "Acknowledgement of receipt: {{ campaign_label }}",
        "<p>Hello {{ recipient_name }},</p>"
        "<p>We have received your application <strong>{{ application_reference }}</strong> "
        "to the campaign “{{ campaign_label }}”.</p>"
        "<p>You can follow its status here: "
        '<a href="{{ application_url }}">{{ application_url }}</a></p>'
        "<p>The {{ platform_name }} team</p>",
    ),
}

# {{ … }}, {% … %} and {# … #}: hidden from the sanitiser, which would escape their quotes
# and comparison signs, then put back.
JINJA_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)


@dataclass
class VersionInput:
    subject: str = ""
    body_html: str = ""
    body_text: str = ""

    @property
    def is_empty(self) -> bool:
        return not (self.subject.strip() or self.body_html.strip() or self.body_text.strip())


@dataclass
class TemplateInput:
    """What the editor sends: the template's fields and one version per language."""

    name: str = ""
    default_locale: str = "fr"
    sender_name: str = ""
    reply_to: str = ""
    cc: str = ""
    bcc: str = ""
    versions: dict[str, VersionInput] = field(default_factory=dict)
    # Taken from the stored template, never from the editor: which placeholders apply.
    system_key: str | None = None

    @property
    def placeholder_names(self) -> frozenset[str]:
        return templating.names_for(bool(self.system_key))


def find_by_name(name: str) -> EmailTemplate | None:
    return db.session.scalar(sa.select(EmailTemplate).where(EmailTemplate.name == name))


def default_acknowledgement_template() -> EmailTemplate:
    """The platform's acknowledgement template, created (in French and English) when missing."""
    name = current_app.config["DEFAULT_ACKNOWLEDGEMENT_TEMPLATE"]
    template = find_by_name(name)
    if template is None:
        template = EmailTemplate(name=name, default_locale="fr")
        template.versions = [
            EmailTemplateVersion(locale=locale, subject=subject, body_html=body)
            for locale, (subject, body) in DEFAULT_ACKNOWLEDGEMENT.items()
        ]
        db.session.add(template)
        db.session.flush()
    return template


# Reading ----------------------------------------------------------------------------------


def get_template(template_id: int) -> EmailTemplate | None:
    return db.session.get(EmailTemplate, template_id)


def template_for(actor: User, template_id: int) -> EmailTemplate:
    """The template `actor` may edit: NotFound if there is none, NotAllowed if they may not
    (account emails: admins only)."""
    template = db.session.get(EmailTemplate, template_id)
    if template is None:
        raise NotFound()
    if not permissions.can_edit_template(actor, template):
        raise NotAllowed()
    return template


LIST_SORTS = {
    "name": lambda: sa.func.lower(EmailTemplate.name),
    "updated": lambda: EmailTemplate.updated_at,
}
DEFAULT_SORT = Sort("name", descending=False)
PAGE_SIZE = 25


def template_page(search: str = "", sort: Sort = DEFAULT_SORT, number: int = 1,
                  size: int = PAGE_SIZE) -> Page:
    """One page of the campaign templates, searched by name, sorted by a column (the platform's
    system templates are listed apart)."""
    direction = sa.desc if sort.descending else sa.asc
    query = (sa.select(EmailTemplate).where(EmailTemplate.system_key.is_(None))
             .order_by(direction(LIST_SORTS[sort.key]()), direction(EmailTemplate.id)))
    if search.strip():
        query = query.where(EmailTemplate.name.icontains(search.strip(), autoescape=True))
    return offset_page(db.session, query, number, size)


def list_templates(search: str = "") -> list[EmailTemplate]:
    """Campaign templates (the platform's system templates are listed apart)."""
    query = (sa.select(EmailTemplate).where(EmailTemplate.system_key.is_(None))
             .order_by(sa.func.lower(EmailTemplate.name)))
    if search.strip():
        query = query.where(EmailTemplate.name.icontains(search.strip(), autoescape=True))
    return list(db.session.scalars(query))


def list_system_templates() -> list[EmailTemplate]:
    return list(db.session.scalars(sa.select(EmailTemplate)
                                   .where(EmailTemplate.system_key.is_not(None))
                                   .order_by(EmailTemplate.system_key)))


def triggers_using(template_ids) -> dict[int, list[Trigger]]:
    """The triggers of each template, for the list's "used by" column and delete refusals."""
    ids = list(template_ids)
    found: dict[int, list[Trigger]] = {i: [] for i in ids}
    if not ids:
        return found
    query = (sa.select(Trigger).where(Trigger.template_id.in_(ids))
             .options(sa.orm.selectinload(Trigger.campaign)).order_by(Trigger.id))
    for trigger in db.session.scalars(query):
        found[trigger.template_id].append(trigger)
    return found


def template_history(template: EmailTemplate):
    return audit.history("email_template", template.id)


def last_changes(template_ids) -> dict:
    """The latest edit of each template (who and when), for the account emails' list."""
    found = {}
    for template_id in template_ids:
        found[template_id] = db.session.scalar(
            sa.select(AuditEntry).where(AuditEntry.object_type == "email_template",
                                        AuditEntry.object_id == template_id,
                                        AuditEntry.action.in_(("email_template.created",
                                                               "email_template.updated")))
            .order_by(AuditEntry.id.desc()).limit(1))
    return {k: v for k, v in found.items() if v is not None}


def recent_applications(limit: int = 30) -> list[Application]:
    """Applications a manager may pick to preview a template with real values."""
    return list(db.session.scalars(
        sa.select(Application).order_by(Application.id.desc()).limit(limit)
    ))


def get_application(application_id: int) -> Application | None:
    return db.session.get(Application, application_id)


def input_from(template: EmailTemplate) -> TemplateInput:
    return TemplateInput(
        name=template.name, default_locale=template.default_locale,
        sender_name=template.sender_name, reply_to=template.reply_to, cc=template.cc,
        bcc=template.bcc,
        versions={v.locale: VersionInput(v.subject, v.body_html, v.body_text)
                  for v in template.versions},
        system_key=template.system_key,
    )


# Checking ---------------------------------------------------------------------------------


def sanitize_html(source: str) -> str:
    """Keep email-safe HTML only; Jinja tags survive untouched (they are data, not markup)."""
    nonce = secrets.token_hex(6)
    hidden: dict[str, str] = {}

    def hide(match: re.Match) -> str:
        token = f"jinja-{nonce}-{len(hidden)}"
        hidden[token] = match.group(0)
        return token

    cleaned = html_policy.clean(JINJA_TAG.sub(hide, source or ""))
    for token, original in hidden.items():
        cleaned = cleaned.replace(token, original)
    return cleaned


def _unsafe_constructs(source: str) -> list[str]:
    """`|safe` and `{% autoescape false %}` would let a template slip raw HTML past nh3;
    include, extends and import would reach for files."""
    try:
        ast = templating.HTML_ENV.parse(source or "")
    except jinja2.TemplateSyntaxError:
        return []  # find_problems reports it with its line
    problems = []
    if any(True for _ in ast.find_all((nodes.Include, nodes.Extends, nodes.Import,
                                       nodes.FromImport))):
        problems.append(str(_l("Including, extending or importing other templates is not "
                               "allowed.")))
    if any(node.name == "safe" for node in ast.find_all(nodes.Filter)):
        problems.append(str(_l("The “safe” filter is not allowed.")))
    if any(True for _ in ast.find_all(nodes.ScopedEvalContextModifier)):
        problems.append(str(_l("Turning autoescaping off is not allowed.")))
    return problems


def _template_problems(source: str,
                       names: frozenset[str] = templating.CAMPAIGN_NAMES) -> list[str]:
    # Checked first: find_problems renders the template, which these constructs must not reach.
    return _unsafe_constructs(source) or templating.find_problems(source, names)


def _header_problem(value: str) -> str | None:
    if "\n" in value or "\r" in value:
        return str(_l("Line breaks are not allowed in this field."))
    return None


def validate(data: TemplateInput, template: EmailTemplate | None = None,
             application: Application | None = None) -> dict[str, list[str]]:
    """Every reason `data` cannot be saved, by form field (versions: `subject_fr`, …). Each
    part must render with sample values, and with `application`'s values when one is chosen."""
    if data.system_key:
        application = None  # account emails concern no application
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    name = (data.name or "").strip()
    if not name:
        add("name", str(_l("This field is required.")))
    else:
        other = find_by_name(name)
        if other is not None and (template is None or other.id != template.id):
            add("name", str(_l("A template with this name already exists.")))
    for field_name in ("name", "sender_name", "reply_to", "cc", "bcc"):
        problem = _header_problem(getattr(data, field_name) or "")
        if problem:
            add(field_name, problem)
    if data.reply_to and "reply_to" not in errors:
        try:
            normalize_email(data.reply_to)
        except InvalidAddress as error:
            add("reply_to", str(_l("Not a valid email address: %(address)s",
                                   address=error.address)))
    for field_name in ("cc", "bcc"):
        if field_name not in errors:
            try:
                parse_address_list(getattr(data, field_name))
            except InvalidAddress as error:
                add(field_name, str(_l("Not a valid email address: %(address)s",
                                       address=error.address)))
    if data.default_locale not in LOCALES:
        add("default_locale", str(_l("Choose a language.")))
    for locale in LOCALES:
        version = data.versions.get(locale) or VersionInput()
        if version.is_empty and locale != data.default_locale:
            continue  # an optional language left blank
        if not version.subject.strip():
            add(f"subject_{locale}", str(_l("This field is required.")))
        if not version.body_html.strip():
            add(f"body_html_{locale}", str(_l("This field is required.")))
        problem = _header_problem(version.subject)
        if problem:
            add(f"subject_{locale}", problem)
        # An account email's link signs its reader in: it must not be able to leave.
        leaks = secret_links.problems(version.subject, version.body_html, version.body_text,
                                      current_app.config["BASE_URL"]) if data.system_key else {}
        for part in ("subject", "body_html", "body_text"):
            problems = (_template_problems(getattr(version, part), data.placeholder_names)
                        or leaks.get(part, []))
            for message in problems:
                add(f"{part}_{locale}", message)
            if application is not None and not problems and getattr(version, part).strip():
                ctx = _render_context(application, None, locale)
                try:
                    templating.render(getattr(version, part), ctx, html=part == "body_html")
                except templating.TemplateProblem as error:
                    add(f"{part}_{locale}", str(_l(
                        "This template cannot be rendered for %(reference)s: %(message)s",
                        reference=application.reference, message=error)))
    return errors


# Changing ---------------------------------------------------------------------------------


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


# Preview and test -------------------------------------------------------------------------


def _render_context(application: Application | None, recipient: User | None, locale: str,
                    sample: dict[str, str] | None = None):
    if application is None:
        ctx = templating.context_for(None, "", "", locale)
        ctx.sample = templating.sample_values(locale) | (sample or {})
        if recipient is not None:
            ctx.sample["recipient_name"] = recipient.name
        return ctx
    candidate = application.candidate
    return templating.context_for(application, candidate.name, candidate.email, locale,
                                  new_status=application.status)


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
                for message in _template_problems(getattr(version, part),
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
                                           _render_context(application, None, locale, sample))
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
