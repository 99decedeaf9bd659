"""Email templates: create, edit, and the default acknowledgement of receipt."""

import sqlalchemy as sa
from flask import current_app

from webapp.extensions import db
from webapp.models import EmailTemplate, EmailTemplateVersion

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
