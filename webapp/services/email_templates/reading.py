"""Email templates read: what a template is made of (its inputs), finding and listing them
(one page at a time), where they are used, and the default acknowledgement of receipt."""

import logging
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app

from webapp.core import audit
from webapp.core.errors import NotAllowed, NotFound
from webapp.core.paging import Page, Sort, offset_page
from webapp.extensions import db
from webapp.models import (
    Application,
    AuditEntry,
    EmailTemplate,
    EmailTemplateVersion,
    Trigger,
    User,
)
from webapp.services import permissions, templating

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
