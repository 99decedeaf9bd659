"""The platform's own emails about an account: confirm the address, reset the password, the
invitation to choose one. Editable system templates, rendered in the person's language, queued
in the outbox like every other email."""

import logging
import uuid
from datetime import timedelta
from email.utils import formataddr, parseaddr

import sqlalchemy as sa
from babel.dates import format_timedelta
from flask import current_app
from flask_babel import lazy_gettext as _l

from webapp import outbox
from webapp.extensions import db
from webapp.models import EmailTemplate, EmailTemplateVersion, OutboxPriority, User
from webapp.services import secret_links, templating

log = logging.getLogger("missive.account_emails")

CONFIRMATION = "account_confirmation"
PASSWORD_RESET = "password_reset"
INVITATION = "account_invitation"
ACCOUNT_EXISTS = "account_exists"
SIGN_IN_LINK = "sign_in_link"

# key: (name, {locale: (subject, html body)}). The migration that added them keeps its own
# copy (the confirmation there still greets by name, which is the address until confirmed).
# The confirmation names nobody: whoever signs up chooses the name, and the address has not
# yet proved to be theirs, so it must carry no text of a stranger's choosing.
SYSTEM_TEMPLATES: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {
    CONFIRMATION: ("Account: confirm the email address", {
        "fr": (
            "Confirmez votre adresse e-mail · {{ platform_name }}",
            "<p>Bonjour,</p>"
            "<p>Un compte candidat a été créé sur {{ platform_name }} avec cette adresse. Pour "
            "la confirmer et pouvoir envoyer vos candidatures, suivez ce lien :</p>"
            '<p><a href="{{ action_url }}">{{ action_url }}</a></p>'
            "<p>Ce lien est valable {{ link_expiry }}. Si vous n'avez pas créé de compte sur "
            "{{ platform_name }}, ignorez ce message.</p>"
            "<p>L'équipe {{ platform_name }}</p>",
        ),
        "en": (
            "Confirm your email address · {{ platform_name }}",
            "<p>Hello,</p>"
            "<p>A candidate account was created on {{ platform_name }} with this address. To "
            "confirm it and be able to submit your applications, follow this link:</p>"
            '<p><a href="{{ action_url }}">{{ action_url }}</a></p>'
            "<p>This link is valid for {{ link_expiry }}. If you did not create an account on "
            "{{ platform_name }}, ignore this message.</p>"
            "<p>The {{ platform_name }} team</p>",
        ),
    }),
    PASSWORD_RESET: ("Account: reset the password", {
        "fr": (
            "Choisir un nouveau mot de passe · {{ platform_name }}",
            "<p>Bonjour {{ recipient_name }},</p>"
            "<p>Une demande de nouveau mot de passe a été faite pour votre compte. Pour en "
            "choisir un, suivez ce lien :</p>"
            '<p><a href="{{ action_url }}">{{ action_url }}</a></p>'
            "<p>Ce lien est valable {{ link_expiry }} et ne sert qu'une fois. Si vous n'êtes pas "
            "à l'origine de cette demande, ignorez ce message : votre mot de passe ne change "
            "pas.</p>"
            "<p>L'équipe {{ platform_name }}</p>",
        ),
        "en": (
            "Choose a new password · {{ platform_name }}",
            "<p>Hello {{ recipient_name }},</p>"
            "<p>A new password was requested for your account. To choose one, follow this "
            "link:</p>"
            '<p><a href="{{ action_url }}">{{ action_url }}</a></p>'
            "<p>This link is valid for {{ link_expiry }} and works once. If you did not ask for "
            "it, ignore this message: your password does not change.</p>"
            "<p>The {{ platform_name }} team</p>",
        ),
    }),
    INVITATION: ("Account: invitation", {
        "fr": (
            "Votre compte sur {{ platform_name }}",
            "<p>Bonjour {{ recipient_name }},</p>"
            "<p>Un compte a été créé pour vous sur {{ platform_name }}. Pour choisir votre mot "
            "de passe, suivez ce lien :</p>"
            '<p><a href="{{ action_url }}">{{ action_url }}</a></p>'
            "<p>Ce lien est valable {{ link_expiry }} et ne sert qu'une fois.</p>"
            "<p>L'équipe {{ platform_name }}</p>",
        ),
        "en": (
            "Your account on {{ platform_name }}",
            "<p>Hello {{ recipient_name }},</p>"
            "<p>An account was created for you on {{ platform_name }}. To choose your password, "
            "follow this link:</p>"
            '<p><a href="{{ action_url }}">{{ action_url }}</a></p>'
            "<p>This link is valid for {{ link_expiry }} and works once.</p>"
            "<p>The {{ platform_name }} team</p>",
        ),
    }),
    # Sign-up answers the same whether or not the address has an account; its owner hears of
    # the attempt here (with the way back in, in case they forgot they had one).
    ACCOUNT_EXISTS: ("Account: sign-up with an address that has an account", {
        "fr": (
            "Tentative d'inscription avec votre adresse · {{ platform_name }}",
            "<p>Bonjour {{ recipient_name }},</p>"
            "<p>Quelqu'un a essayé de créer un compte sur {{ platform_name }} avec votre "
            "adresse, qui a déjà un compte. Aucun compte n'a été créé et le vôtre n'a pas "
            "changé.</p>"
            "<p>Si c'était vous et que vous avez oublié votre mot de passe, vous pouvez en "
            'choisir un nouveau : <a href="{{ action_url }}">{{ action_url }}</a></p>'
            "<p>Sinon, ignorez ce message.</p>"
            "<p>L'équipe {{ platform_name }}</p>",
        ),
        "en": (
            "Someone tried to sign up with your address · {{ platform_name }}",
            "<p>Hello {{ recipient_name }},</p>"
            "<p>Someone tried to create an account on {{ platform_name }} with your address, "
            "which already has one. No account was created and yours did not change.</p>"
            "<p>If it was you and you forgot your password, you can choose a new one: "
            '<a href="{{ action_url }}">{{ action_url }}</a></p>'
            "<p>Otherwise, ignore this message.</p>"
            "<p>The {{ platform_name }} team</p>",
        ),
    }),
    SIGN_IN_LINK: ("Account: sign-in link", {
        "fr": (
            "Votre lien de connexion · {{ platform_name }}",
            "<p>Bonjour {{ recipient_name }},</p>"
            "<p>Pour vous connecter à {{ platform_name }} sans mot de passe, suivez ce "
            "lien :</p>"
            '<p><a href="{{ action_url }}">{{ action_url }}</a></p>'
            "<p>Ce lien est valable {{ link_expiry }} et ne sert qu'une fois. Si vous n'êtes pas "
            "à l'origine de cette demande, ignorez ce message.</p>"
            "<p>L'équipe {{ platform_name }}</p>",
        ),
        "en": (
            "Your sign-in link · {{ platform_name }}",
            "<p>Hello {{ recipient_name }},</p>"
            "<p>To sign in to {{ platform_name }} without your password, follow this link:</p>"
            '<p><a href="{{ action_url }}">{{ action_url }}</a></p>'
            "<p>This link is valid for {{ link_expiry }} and works once. If you did not ask for "
            "it, ignore this message.</p>"
            "<p>The {{ platform_name }} team</p>",
        ),
    }),
}


def purposes() -> dict[str, str]:
    """When each system email is sent, for the Templates page."""
    return {
        CONFIRMATION: str(_l("A candidate signs up, or asks for the confirmation link again.")),
        PASSWORD_RESET: str(_l("Someone asks for a new password (“Forgot your password?”).")),
        INVITATION: str(_l("An account is created without a password: its owner chooses "
                           "one.")),
        ACCOUNT_EXISTS: str(_l("Someone signs up with an address that already has an "
                               "account.")),
        SIGN_IN_LINK: str(_l("Someone asks for a sign-in link (when the password is locked "
                             "or forgotten).")),
    }


def _by_key() -> dict[str, EmailTemplate]:
    query = sa.select(EmailTemplate).where(EmailTemplate.system_key.is_not(None))
    return {t.system_key: t for t in db.session.scalars(query)}


def ensure_system_templates() -> dict[str, EmailTemplate]:
    """The system templates, created (in French and English) when missing; flushes."""
    found = _by_key()
    for key, (name, versions) in SYSTEM_TEMPLATES.items():
        if key in found:
            continue
        taken = db.session.scalar(sa.select(EmailTemplate.id).where(EmailTemplate.name == name))
        template = EmailTemplate(name=f"{name} ({key})" if taken else name, system_key=key,
                                 default_locale="fr")
        template.versions = [EmailTemplateVersion(locale=locale, subject=subject, body_html=body)
                             for locale, (subject, body) in versions.items()]
        db.session.add(template)
        found[key] = template
    db.session.flush()
    return found


def system_templates() -> list[EmailTemplate]:
    """The system templates, in a stable order (the migration and seed-demo create them; the
    first account email creates any still missing)."""
    found = _by_key()
    return [found[key] for key in SYSTEM_TEMPLATES if key in found]


def _link_expiry(valid_for: timedelta, locale: str) -> str:
    return format_timedelta(valid_for, locale=locale, threshold=2)


def queue(user: User, key: str, path: str, valid_for: timedelta) -> None:
    """Render the system email `key` for `user` with the link to `path` and add it to the
    outbox, in the caller's transaction, at urgent priority: a reset must not wait behind a
    bulk decision. The one place account emails enter the outbox.

    A template an admin broke must not lock people out: its built-in wording is used instead.
    """
    template = ensure_system_templates()[key]
    config = current_app.config
    wanted = user.locale if user.locale in config["LANGUAGES"] else template.default_locale
    version = template.version_for(wanted)
    locale = version.locale
    # Until the address is proved, the name is whatever a sign-up typed: it stays out of the
    # message (greeting and To header), so nobody can mail a stranger words of their choosing.
    name = user.name if user.email_confirmed else ""
    ctx = templating.context_for(None, name or user.email, user.email, locale)
    ctx.given = {"action_url": f"{config['BASE_URL'].rstrip('/')}{path}",
                 "link_expiry": _link_expiry(valid_for, locale)}
    try:
        # Checked again here: a template may have reached the database without the editor.
        leaks = secret_links.problems(version.subject, version.body_html, version.body_text,
                                      config["BASE_URL"])
        if leaks:
            raise templating.TemplateProblem(
                "; ".join(message for messages in leaks.values() for message in messages))
        rendered = templating.render_email(version.subject, version.body_html,
                                           version.body_text, ctx)
    except templating.TemplateProblem as error:
        log.error("System template %s does not render (%s): using the built-in wording",
                  key, error)
        subject, body = SYSTEM_TEMPLATES[key][1].get(locale) or SYSTEM_TEMPLATES[key][1]["fr"]
        # Even when the request has spent its rendering time (a slow template before this
        # one): the built-in wording is short, and this email must go.
        with templating.outside_request_budget():
            rendered = templating.render_email(subject, body, "", ctx)
    sender_address = parseaddr(config["MAIL_DEFAULT_SENDER"] or "")[1]
    outbox.enqueue(
        key=f"{key}:{user.id}:{uuid.uuid4().hex}", to_addr=user.email, to_name=name,
        subject=rendered.subject, body_html=rendered.html, body_text=rendered.text,
        sender=formataddr((template.sender_name, sender_address))
        if template.sender_name and sender_address else "",
        reply_to=template.reply_to, locale=locale, event_type=key, template_id=template.id,
        recipient_user_id=user.id, priority=OutboxPriority.URGENT,
    )
    log.info("%s email queued for user %s", key, user.id)
