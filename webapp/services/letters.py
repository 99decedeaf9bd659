"""Letter templates (platform managers), what an email template attaches, the letters frozen
when an email is queued, and the size budget of an email's files.

The PDF itself (sanitising a letter's HTML, the page layout, fpdf2) is
webapp.services.letter_pdf; its names are re-exported here for callers.
"""

import html
import io
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer

from webapp.core import audit
from webapp.core.errors import NotFound, ValidationFailed
from webapp.extensions import db
from webapp.models import (
    DocumentKind,
    EmailTemplate,
    EmailTemplateAttachment,
    LetterTemplate,
    User,
)
from webapp.services import documents, templating
from webapp.services.letter_pdf import (  # noqa: F401  (the letters' public API)
    FONT,
    FONT_DIR,
    Layout,
    LetterProblem,
    clean,
    layout_from_config,
    render_pdf,
    source_problems,
)
from webapp.services.templating import TemplateProblem

# --- letter templates (platform managers) -------------------------------------------------

NAME_MAX = 200


@dataclass
class LetterValues:
    name: str
    default_locale: str
    title_fr: str
    title_en: str
    body_fr: str
    body_en: str


def all_letters() -> list[LetterTemplate]:
    return list(db.session.scalars(sa.select(LetterTemplate).order_by(
        sa.func.lower(LetterTemplate.name))))


def get_letter(letter_id: int) -> LetterTemplate:
    letter = db.session.get(LetterTemplate, letter_id)
    if letter is None:
        raise NotFound()
    return letter


def _checked(values: LetterValues, letter: LetterTemplate | None) -> dict:
    errors: dict[str, list[str]] = {}
    name = " ".join((values.name or "").split())
    if not name:
        errors["name"] = [str(_l("This field is required."))]
    elif len(name) > NAME_MAX:
        errors["name"] = [str(_l("At most %(n)d characters.", n=NAME_MAX))]
    else:
        taken = db.session.scalar(sa.select(LetterTemplate.id).where(
            sa.func.lower(LetterTemplate.name) == name.lower()))
        if taken is not None and (letter is None or taken != letter.id):
            errors["name"] = [str(_l("Another letter template already has this name."))]
    bodies = {"fr": values.body_fr or "", "en": values.body_en or ""}
    if not any(body.strip() for body in bodies.values()):
        errors["body_fr"] = [str(_l("Write the letter in at least one language."))]
    for locale, body in bodies.items():
        problems = source_problems(body) + (templating.find_problems(body) if body else [])
        if problems:
            errors[f"body_{locale}"] = problems
    for locale in ("fr", "en"):
        title = getattr(values, f"title_{locale}") or ""
        problems = templating.find_problems(title) if title else []
        if problems:
            errors[f"title_{locale}"] = problems
    if errors:
        raise ValidationFailed(errors)
    return {"name": name, "default_locale": "en" if values.default_locale == "en" else "fr",
            "title_fr": (values.title_fr or "").strip(),
            "title_en": (values.title_en or "").strip(),
            "body_fr": clean(bodies["fr"]) if bodies["fr"].strip() else "",
            "body_en": clean(bodies["en"]) if bodies["en"].strip() else ""}


def save_letter(actor: User, letter: LetterTemplate | None,
                values: LetterValues) -> LetterTemplate:
    """Create (letter None) or change a letter template; refused, naming the problem, when a
    placeholder is unknown or the text names an image or a file."""
    clean_values = _checked(values, letter)
    created = letter is None
    if created:
        letter = LetterTemplate(**clean_values)
        db.session.add(letter)
    else:
        for key, value in clean_values.items():
            setattr(letter, key, value)
    db.session.flush()
    audit.record(actor, "letter_template.created" if created else "letter_template.updated",
                 "letter_template", letter.id, letter.name)
    db.session.commit()
    return letter


def delete_letter(actor: User, letter: LetterTemplate) -> None:
    """Refused while an email template attaches it, naming them."""
    users = list(db.session.scalars(sa.select(EmailTemplate.name).join(
        EmailTemplateAttachment, EmailTemplateAttachment.template_id == EmailTemplate.id)
        .where(EmailTemplateAttachment.letter_template_id == letter.id)
        .order_by(EmailTemplate.name)))
    if users:
        raise ValidationFailed(str(_l("This letter is attached to these email templates: "
                                      "%(names)s. Remove it from them first.",
                                      names=", ".join(users))))
    audit.record(actor, "letter_template.deleted", "letter_template", letter.id, letter.name)
    db.session.delete(letter)
    db.session.commit()


def preview_pdf(values: LetterValues, locale: str) -> bytes:
    """The letter with example values, as a reader of `locale` would get it."""
    probe = LetterTemplate(default_locale=values.default_locale,
                           title_fr=values.title_fr or "", title_en=values.title_en or "",
                           body_fr=values.body_fr or "", body_en=values.body_en or "")
    title, body = probe.version_for(locale)
    problems = source_problems(body)
    if problems:
        raise ValidationFailed({f"body_{locale}": problems})
    ctx = _sample_context(locale)
    rendered_title = templating.render(title, ctx, html=False) if title else ""
    return render_pdf(body, ctx, layout_from_config(), title=rendered_title)


# --- what an email template attaches, frozen when its email is queued ---------------------


def attachment_rules(template_id: int) -> list[EmailTemplateAttachment]:
    return list(db.session.scalars(sa.select(EmailTemplateAttachment).where(
        EmailTemplateAttachment.template_id == template_id).order_by(EmailTemplateAttachment.id)))


def set_attachments(actor: User, template: EmailTemplate, letter_ids: list[int],
                    kinds: list[str]) -> None:
    """What `template`'s emails attach from now on: these letters, and the candidate's
    documents of these kinds. Emails already queued keep what they had."""
    known_kinds = {kind.value for kind in DocumentKind}
    letters = {letter.id for letter in all_letters()}
    if any(k not in known_kinds for k in kinds) or any(i not in letters for i in letter_ids):
        raise ValidationFailed(str(_l("Choose among the letters and types offered.")))
    db.session.execute(sa.delete(EmailTemplateAttachment).where(
        EmailTemplateAttachment.template_id == template.id))
    db.session.add_all([EmailTemplateAttachment(template_id=template.id, letter_template_id=i)
                        for i in sorted(set(letter_ids))] +
                       [EmailTemplateAttachment(template_id=template.id, document_kind=k)
                        for k in sorted(set(kinds))])
    audit.record(actor, "email_template.attachments", "email_template", template.id,
                 template.name)
    db.session.commit()


def _file_name(name: str, reference: str) -> str:
    clean_name = " ".join(name.replace("/", "-").replace("\\", "-").split())[:150]
    return f"{clean_name} - {reference}.pdf"


def freeze_attachments(template_id: int, application, locale: str, *, old_status=None,
                       new_status=None, actor=None) -> list[dict]:
    """The files an email of `template_id` about `application` carries, in the reader's
    `locale`: each chosen letter rendered now and stored by hash, and the candidate's
    documents of the chosen kinds. Raises TemplateProblem when a letter cannot be made (the
    email is then stored failed with that reason; the event goes on)."""
    rules = attachment_rules(template_id)
    if not rules or application is None:
        return []
    specs: list[dict] = []
    kinds = [rule.document_kind for rule in rules if rule.document_kind]
    if kinds:
        types = {mime for kind in kinds for mime in documents.KINDS[kind][1]}
        specs.extend(dict(sha256=d.sha256, filename=d.filename, content_type=d.content_type,
                          size=d.size)
                     for d in documents.documents_of(application.id) if d.content_type in types)
    letter_rules = [rule for rule in rules if rule.letter_template_id]
    if letter_rules:
        ctx = templating.context_for(application, "", "", locale, old_status=old_status,
                                     new_status=new_status, actor=actor)
        ctx.recipient_name = templating.PLACEHOLDERS["candidate_name"].resolve(ctx)
        reference = templating.PLACEHOLDERS["application_reference"].resolve(ctx)
        layout = layout_from_config()
        for rule in letter_rules:
            letter = rule.letter
            title, body = letter.version_for(locale)
            try:
                pdf = render_pdf(body, ctx, layout,
                                 title=templating.render(title, ctx, html=False) if title else "")
            except TemplateProblem as error:
                raise LetterProblem(str(_l("The letter “%(name)s” could not be made: "
                                           "%(reason)s", name=letter.name, reason=error))) \
                    from error
            stored = documents.store().put(io.BytesIO(pdf))
            specs.append(dict(sha256=stored.sha256, filename=_file_name(letter.name, reference),
                              content_type="application/pdf", size=stored.size))
    return specs


@dataclass
class AttachmentChoice:
    template: EmailTemplate
    letter_ids: set[int]
    kinds: set[str]


def attachment_overview() -> list[AttachmentChoice]:
    """Each campaign email template with what it attaches (system emails attach nothing)."""
    templates = list(db.session.scalars(sa.select(EmailTemplate).where(
        EmailTemplate.system_key.is_(None)).order_by(sa.func.lower(EmailTemplate.name))))
    rules: dict[int, list[EmailTemplateAttachment]] = {}
    for rule in db.session.scalars(sa.select(EmailTemplateAttachment)):
        rules.setdefault(rule.template_id, []).append(rule)
    return [AttachmentChoice(t, {r.letter_template_id for r in rules.get(t.id, [])
                                 if r.letter_template_id},
                             {r.document_kind for r in rules.get(t.id, []) if r.document_kind})
            for t in templates]


def campaign_template(template_id: int) -> EmailTemplate:
    template = db.session.get(EmailTemplate, template_id)
    if template is None or template.system_key:
        raise NotFound()
    return template


# --- the size budget ----------------------------------------------------------------------

BASE64_GROWTH = 1.37  # base64 and its line breaks
LINK_SALT = "missive.attachment-link"


def encoded_size(body_html: str, body_text: str, specs: list[dict]) -> int:
    """What the message weighs on the wire, about: bodies and files in base64."""
    return int((len(body_html.encode()) + len(body_text.encode())
                + sum(spec["size"] for spec in specs)) * BASE64_GROWTH) + 4096


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=LINK_SALT)


def link_token(spec: dict) -> str:
    return _serializer().dumps([spec["sha256"], spec["filename"], spec["content_type"]])


def read_link_token(token: str) -> tuple[str, str, str]:
    """(sha256, filename, content type) of a signed link still valid; NotFound otherwise."""
    max_age = int(current_app.config["MAIL_ATTACHMENT_LINK_DAYS"]) * 24 * 3600
    try:
        sha256, filename, content_type = _serializer().loads(token, max_age=max_age)
    except (BadSignature, ValueError, TypeError) as error:
        raise NotFound() from error
    return sha256, filename, content_type


def fit_to_budget(values: dict, specs: list[dict], locale: str) -> list[dict]:
    """Over MAIL_MAX_MESSAGE_BYTES, the files go as signed, expiring download links added to
    both bodies, each marked `as_link` (the Outbox page says so); nothing is dropped."""
    budget = int(current_app.config["MAIL_MAX_MESSAGE_BYTES"])
    if encoded_size(values["body_html"], values["body_text"], specs) <= budget:
        return specs
    base = current_app.config["BASE_URL"].rstrip("/")
    days = int(current_app.config["MAIL_ATTACHMENT_LINK_DAYS"])
    with force_locale(locale):
        intro = str(_l("The attached files were too large for an email. Download them from "
                       "these links (valid %(days)d days):", days=days))
    links = [(spec["filename"], f"{base}/files/{link_token(spec)}") for spec in specs]
    values["body_html"] += "<p>" + html.escape(intro) + "</p><ul>" + "".join(
        f'<li><a href="{html.escape(url)}">{html.escape(name)}</a></li>'
        for name, url in links) + "</ul>"
    if values["body_text"]:
        values["body_text"] += "\n\n" + intro + "\n" + "".join(
            f"- {name}: {url}\n" for name, url in links)
    return [spec | {"as_link": True} for spec in specs]


def _sample_context(locale: str):
    """A rendering context with the placeholders' example values."""
    ctx = templating.context_for(None, "", "", locale)
    ctx.sample = templating.sample_values(locale)
    ctx.recipient_name = ctx.sample.get("recipient_name") or ctx.sample.get("candidate_name", "")
    return ctx


def _letter_pdf(letter: LetterTemplate, ctx, locale: str) -> bytes:
    title, body = letter.version_for(locale)
    return render_pdf(body, ctx, layout_from_config(),
                      title=templating.render(title, ctx, html=False) if title else "")


def sample_pdf(letter: LetterTemplate, locale: str, application=None) -> tuple[str, bytes]:
    """A letter as an email's preview shows it: for `application` (what its email would
    carry) or with example values; its file name and bytes. Nothing is stored. Raises
    TemplateProblem when it cannot be made."""
    if application is None:
        ctx = _sample_context(locale)
        reference = ctx.sample.get("application_reference", "")
    else:
        ctx = templating.context_for(application, "", "", locale,
                                     new_status=application.status)
        ctx.recipient_name = templating.PLACEHOLDERS["candidate_name"].resolve(ctx)
        reference = templating.PLACEHOLDERS["application_reference"].resolve(ctx)
    return _file_name(letter.name, reference), _letter_pdf(letter, ctx, locale)


def test_attachments(template_id: int, locale: str, application=None) -> list[dict]:
    """The files a test of `template_id` carries: with an application, what its email would
    carry; without, each letter with example values. A letter that cannot be made refuses
    the test with the reason."""
    try:
        if application is not None:
            return freeze_attachments(template_id, application, locale,
                                      new_status=application.status)
        specs = []
        for rule in attachment_rules(template_id):
            if not rule.letter_template_id:
                continue
            filename, pdf = sample_pdf(rule.letter, locale)
            stored = documents.store().put(io.BytesIO(pdf))
            specs.append(dict(sha256=stored.sha256, content_type="application/pdf",
                              size=stored.size, filename=filename))
        return specs
    except TemplateProblem as error:
        raise ValidationFailed({"": [str(error)]}) from error
