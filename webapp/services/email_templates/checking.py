"""Email templates checked before they are saved: HTML sanitised, template syntax within the
allowed (`templating.find_problems`: the allow-list of `template_syntax` refuses, while
parsing, every construct that could slip raw HTML past the sanitiser or reach for other files),
headers without line breaks, every language complete."""

import logging
import re
import secrets

from flask import current_app
from flask_babel import lazy_gettext as _l

from webapp.core.addresses import InvalidAddress, normalize_email, parse_address_list
from webapp.models import Application, EmailTemplate, User
from webapp.services import html_policy, secret_links, templating
from webapp.services.email_templates.reading import (
    LOCALES,
    TemplateInput,
    VersionInput,
    find_by_name,
)

log = logging.getLogger("missive.email_templates")


# {{ … }}, {% … %} and {# … #}: hidden from the sanitiser, which would escape their quotes
# and comparison signs, then put back.
JINJA_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)



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
            problems = (templating.find_problems(getattr(version, part),
                                                 data.placeholder_names)
                        or leaks.get(part, []))
            for message in problems:
                add(f"{part}_{locale}", message)
            if application is not None and not problems and getattr(version, part).strip():
                ctx = render_context(application, None, locale)
                try:
                    templating.render(getattr(version, part), ctx, html=part == "body_html")
                except templating.TemplateProblem as error:
                    add(f"{part}_{locale}", str(_l(
                        "This template cannot be rendered for %(reference)s: %(message)s",
                        reference=application.reference, message=error)))
    return errors


def render_context(application: Application | None, recipient: User | None, locale: str,
                   sample: dict[str, str] | None = None):
    """What a template is rendered with: an application's facts, or sample values."""
    if application is None:
        ctx = templating.context_for(None, "", "", locale)
        ctx.sample = templating.sample_values(locale) | (sample or {})
        if recipient is not None:
            ctx.sample["recipient_name"] = recipient.name
        return ctx
    candidate = application.candidate
    return templating.context_for(application, candidate.name, candidate.email, locale,
                                  new_status=application.status)
