"""User-written email templates: the placeholder catalogue, validation and sandboxed rendering.

Templates are written by platform managers, so they are rendered by a sandboxed Jinja
environment with no globals, StrictUndefined, and autoescape for HTML. Only the placeholders of
the catalogue exist; anything else is refused when the template is saved.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import jinja2
import lxml.etree
import lxml.html
from babel.dates import format_date
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from inscriptis import Inscriptis
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

from webapp.models import Application, Status, User


@dataclass
class RenderContext:
    """Everything a placeholder may read, for one recipient."""

    locale: str
    recipient_name: str
    recipient_email: str
    platform_name: str
    base_url: str
    today: date
    application: Application | None = None
    old_status: Status | None = None
    new_status: Status | None = None
    actor: User | None = None
    sample: dict[str, str] = field(default_factory=dict)  # preview values override resolvers
    timezone: str = "Europe/Paris"  # the platform's: dates are stored in UTC


def context_for(application: Application | None, recipient_name: str, recipient_email: str,
                locale: str, old_status: Status | None = None, new_status: Status | None = None,
                actor: User | None = None) -> RenderContext:
    """The render context of one recipient, with the platform's name, URL and today's date."""
    from flask import current_app

    from webapp.core import clock

    timezone = current_app.config["BABEL_DEFAULT_TIMEZONE"]
    today = clock.now().replace(tzinfo=UTC).astimezone(ZoneInfo(timezone)).date()
    return RenderContext(
        locale=locale, recipient_name=recipient_name, recipient_email=recipient_email,
        platform_name=current_app.config["PLATFORM_NAME"],
        base_url=current_app.config["BASE_URL"], today=today,
        application=application, old_status=old_status, new_status=new_status, actor=actor,
        timezone=timezone,
    )


@dataclass(frozen=True)
class Placeholder:
    name: str
    description: str  # lazy translated
    # Shown in previews and the editor's help, in the reader's language: words are lazy
    # translated, dates formatted per locale; None: the real value (today, the platform).
    example: "str | date | None"
    resolve: Callable[[RenderContext], str]


def _candidate(ctx: RenderContext) -> User:
    return ctx.application.candidate


def long_date(value: datetime | date | None, locale: str, timezone: str) -> str:
    """A date as emails write it ("31 mars 2027"); stored datetimes are naive UTC."""
    if not value:
        return ""
    if isinstance(value, datetime):
        value = value.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone))
    return format_date(value, format="long", locale=locale)


def _date(value: datetime | date | None, ctx: "RenderContext") -> str:
    return long_date(value, ctx.locale, ctx.timezone)


CATALOGUE: tuple[Placeholder, ...] = (
    Placeholder("recipient_name", _l("Name of the person receiving this email"),
                "Camille Martin", lambda c: c.recipient_name),
    Placeholder("candidate_first_name", _l("Candidate's first name"), "Camille",
                lambda c: _candidate(c).first_name),
    Placeholder("candidate_last_name", _l("Candidate's last name"), "Martin",
                lambda c: _candidate(c).last_name),
    Placeholder("candidate_name", _l("Candidate's full name"), "Camille Martin",
                lambda c: _candidate(c).name),
    Placeholder("candidate_email", _l("Candidate's email address"), "camille@example.org",
                lambda c: _candidate(c).email),
    Placeholder("campaign_label", _l("Name of the campaign"), _l("Research grants 2027"),
                lambda c: c.application.campaign.label),
    Placeholder("closing_date", _l("Closing date of the campaign"), date(2027, 3, 31),
                lambda c: _date(c.application.campaign.closes_at, c)),
    Placeholder("application_reference", _l("Reference number of the application"),
                "MIS-2027-000042", lambda c: c.application.reference),
    Placeholder("old_status_label", _l("Status before the change"), _l("Submitted"),
                lambda c: c.old_status.label_for(c.locale) if c.old_status else ""),
    Placeholder("status_label", _l("New status of the application"), _l("Accepted"),
                lambda c: c.new_status.label_for(c.locale) if c.new_status
                else c.application.status.label_for(c.locale)),
    Placeholder("actor_name", _l("Person who made the change"), "Dominique Durand",
                lambda c: c.actor.name if c.actor else ""),
    Placeholder("application_url", _l("Link to the application"),
                "https://missive.example.org/my/applications/42",
                lambda c: f"{c.base_url.rstrip('/')}/my/applications/{c.application.id}"),
    Placeholder("platform_name", _l("Name of this platform"), None,
                lambda c: c.platform_name),
    Placeholder("today", _l("Today's date"), None,
                lambda c: _date(c.today, c)),
)
PLACEHOLDERS = {p.name: p for p in CATALOGUE}


def _environment(autoescape: bool) -> SandboxedEnvironment:
    env = SandboxedEnvironment(autoescape=autoescape, undefined=jinja2.StrictUndefined)
    env.globals.clear()  # no range, cycler, joiner, lipsum, namespace, dict
    return env


HTML_ENV = _environment(autoescape=True)
TEXT_ENV = _environment(autoescape=False)


class TemplateProblem(ValueError):
    """A template that cannot be saved or rendered; the message names the problem."""


def find_problems(source: str) -> list[str]:
    """Why `source` is not a valid template: syntax errors (with line) and unknown placeholders."""
    try:
        ast = HTML_ENV.parse(source or "")
    except jinja2.TemplateSyntaxError as error:
        return [syntax_problem(error)]
    unknown = sorted(meta.find_undeclared_variables(ast) - PLACEHOLDERS.keys())
    if unknown:
        return [str(_l("Unknown placeholder: %(name)s", name=name)) for name in unknown]
    try:
        _compile(source, True).render({name: name for name in PLACEHOLDERS})
    except jinja2.TemplateError as error:
        return [str(_l("This template cannot be rendered: %(message)s", message=error))]
    return []


# Jinja's parser speaks English; its usual messages, in the reader's language. A token is
# named by its symbol, which reads the same in every language.
_TOKENS = {"end of print statement": "}}", "end of statement block": "%}",
           "begin of print statement": "{{", "begin of statement block": "{%",
           "end of comment": "#}", "name": _l("a name"),
           "end of template": _l("the end of the template")}
_SYNTAX_MESSAGES = (
    (re.compile(r"^unexpected '(?P<token>[^']+)', expected '(?P<found>[^']+)'$"),
     _l("unexpected “%(token)s”, “%(found)s” expected")),
    (re.compile(r"^unexpected '(?P<token>.+)'$"), _l("unexpected “%(token)s”")),
    (re.compile(r"^unexpected char '(?P<token>.+)' at \d+$"),
     _l("unexpected character “%(token)s”")),
    (re.compile(r"^expected token '(?P<token>[^']+)', got '(?P<found>.+)'$"),
     _l("“%(token)s” expected, found “%(found)s”")),
    (re.compile(r"^Encountered unknown tag '(?P<token>[^']+)'"), _l("unknown tag “%(token)s”")),
    (re.compile(r"^unexpected end of template", re.I),
     _l("the template ends before a placeholder or a tag is closed")),
    (re.compile(r"^Expected an expression, got '(?P<found>.+)'$"),
     _l("a placeholder name is missing before “%(found)s”")),
)


def syntax_problem(error: jinja2.TemplateSyntaxError) -> str:
    """A syntax error in the reader's language, naming the problem and its line."""
    message = (error.message or "").strip()
    for pattern, translated in _SYNTAX_MESSAGES:
        found = pattern.match(message)
        if found:
            words = {k: str(_TOKENS.get(v, v)) for k, v in found.groupdict().items()}
            return str(_l("Syntax error on line %(line)d: %(message)s", line=error.lineno,
                          message=str(translated) % words if words else str(translated)))
    lines = (error.source or "").splitlines()
    near = lines[error.lineno - 1].strip() if 0 < error.lineno <= len(lines) else ""
    return str(_l("Syntax error on line %(line)d, near “%(text)s”.", line=error.lineno,
                  text=near[:80]))


def sample_values(locale: str) -> dict[str, str]:
    """The example value of each placeholder, as a reader of `locale` would see it."""
    ctx = context_for(None, "", "", locale)
    with force_locale(locale):
        return {p.name: (p.resolve(ctx) if p.example is None
                         else format_date(p.example, format="long", locale=locale)
                         if isinstance(p.example, date) else str(p.example))
                for p in CATALOGUE}


@lru_cache(maxsize=512)
def _compile(source: str, autoescape: bool) -> jinja2.Template:
    """Compiled once per distinct source: bulk changes render the same template thousands of
    times."""
    return (HTML_ENV if autoescape else TEXT_ENV).from_string(source)


def values_for(ctx: RenderContext, names) -> dict[str, str]:
    """Resolve only the placeholders a template uses."""
    return {name: ctx.sample.get(name) or PLACEHOLDERS[name].resolve(ctx) for name in names}


@lru_cache(maxsize=512)
def _used_names(source: str) -> frozenset[str]:
    return frozenset(meta.find_undeclared_variables(HTML_ENV.parse(source)) & PLACEHOLDERS.keys())


def render(source: str, ctx: RenderContext, html: bool) -> str:
    """Render one field; raises TemplateProblem on any failure (bad template, sandbox refusal)."""
    try:
        return _compile(source, html).render(values_for(ctx, _used_names(source)))
    except (jinja2.TemplateError, AttributeError, TypeError) as error:
        raise TemplateProblem(str(error)) from error


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


def render_email(subject: str, body_html: str, body_text: str,
                 ctx: RenderContext) -> RenderedEmail:
    """Subject, HTML and text parts for one recipient; the text part is derived when empty."""
    html = render(body_html, ctx, html=True)
    text = render(body_text, ctx, html=False) if body_text.strip() else html_to_text(html)
    return RenderedEmail(
        subject=" ".join(render(subject, ctx, html=False).split()),
        html=html,
        text=text,
    )


def html_to_text(html: str) -> str:
    """A readable plain-text version of an HTML body: paragraphs, lists, and the target of
    each link after its text (a link whose text is its target is written once). Inscriptis
    lays the text out as a browser would, so inline tags keep the spaces around them."""
    html = html.strip()
    if not html:
        return "\n"
    try:
        tree = lxml.html.document_fromstring(html)
    except lxml.etree.ParserError:
        return " ".join(html.split()) + "\n"
    for link in tree.iter("a"):
        href = (link.get("href") or "").strip()
        if href and href.removeprefix("mailto:") != link.text_content().strip():
            link.tail = f" ({href})" + (link.tail or "")
    lines = [line.rstrip() for line in Inscriptis(tree).get_text().splitlines()]
    text, blank = [], False
    for line in lines:
        if line.strip():
            text.append(line)
            blank = False
        elif not blank and text:
            text.append("")
            blank = True
    return "\n".join(text).strip("\n") + "\n"


def help_items(locale: str) -> list[tuple[str, str, str]]:
    """(name, description, example) for the editor's placeholder help, in `locale`."""
    samples = sample_values(locale)
    return [(p.name, str(p.description), samples[p.name]) for p in CATALOGUE]
