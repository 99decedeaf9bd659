"""User-written email templates: validation and rendering, for one recipient.

Templates are written by platform managers. They parse only within the allow-list of
template_syntax (placeholders, conditions, filters that do not widen a value), in Jinja's
sandbox with no globals, StrictUndefined, and autoescape for HTML; only the placeholders of
the catalogue (placeholders.py) exist, anything else is refused when the template is saved.
"""

import contextlib
import time
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache

import jinja2
import jinja2.sandbox
import lxml.etree
import lxml.html
from flask_babel import lazy_gettext as _l
from inscriptis import Inscriptis
from jinja2 import meta

from webapp.services import branding, html_policy
from webapp.services.placeholders import (  # noqa: F401 — the templating API, in one place
    CAMPAIGN_NAMES,
    CATALOGUE,
    PLACEHOLDERS,
    SECRET_NAMES,
    SYSTEM_NAMES,
    Placeholder,
    RenderContext,
    context_for,
    help_items,
    long_date,
    names_for,
    sample_values,
)
from webapp.services.template_syntax import (  # noqa: F401
    HTML_ENV,
    MAX_OUTPUT_CHARS,
    TEXT_ENV,
    TemplateProblem,
    syntax_problem,
)

# Wall clock of all the renders of one web request (a bulk change renders one email per
# recipient); TEMPLATE_REQUEST_SECONDS in the configuration overrides it.
REQUEST_SECONDS = 15.0


class RequestBudgetExceeded(TemplateProblem):
    """The renders of one web request took longer together than the request may spend."""


def _now() -> float:
    return time.monotonic()


# The budget of the current web request: [seconds, deadline once the first render starts].
# The web layer opens it per request (setup.init_request_budget); outside a request (the
# worker) there is none.
_REQUEST_BUDGET: ContextVar[list | None] = ContextVar("template_request_budget", default=None)


def open_request_budget(seconds: float = REQUEST_SECONDS) -> None:
    """Give the renders of the request starting now `seconds` in all, counted from the first."""
    _REQUEST_BUDGET.set([float(seconds), None])


def close_request_budget() -> None:
    _REQUEST_BUDGET.set(None)


@contextlib.contextmanager
def outside_request_budget():
    """Renders that must happen whatever the request spent before (an account email's
    built-in wording), as in the worker."""
    token = _REQUEST_BUDGET.set(None)
    try:
        yield
    finally:
        _REQUEST_BUDGET.reset(token)


def _check_request_budget() -> None:
    """Refuse to start a render once the current web request has spent its rendering time."""
    budget = _REQUEST_BUDGET.get()
    if budget is None:
        return
    now = _now()
    if budget[1] is None:
        budget[1] = now + budget[0]
    if now > budget[1]:
        raise RequestBudgetExceeded(str(_l(
            "Rendering the emails of this request takes too long (more than %(n)d "
            "seconds in all).", n=round(budget[0]))))


def find_problems(source: str, names: frozenset[str] = CAMPAIGN_NAMES) -> list[str]:
    """Why `source` is not a valid template: syntax errors and refused constructs (with their
    line), placeholders outside `names`, and failures to render with sample values."""
    try:
        # Unknown filters and tests are found when compiling.
        used = meta.find_undeclared_variables(HTML_ENV.parse(source or ""))
        template = _compile(source, True)
    except jinja2.TemplateSyntaxError as error:
        return [syntax_problem(error)]
    unknown = sorted(used - names)
    if unknown:
        return [str(_l("Unknown placeholder: %(name)s", name=name)) for name in unknown]
    try:
        _render(template, {name: name for name in names})
    except TemplateProblem as error:
        return [str(_l("This template cannot be rendered: %(message)s", message=error))]
    return []


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


def _describe(error: Exception) -> str:
    """The reason a render failed, in the reader's language where we know it."""
    if isinstance(error, TemplateProblem):
        return str(error)
    if isinstance(error, jinja2.TemplateSyntaxError):
        return syntax_problem(error)
    if isinstance(error, jinja2.UndefinedError | jinja2.sandbox.SecurityError):
        return str(error)
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _render(template: jinja2.Template, values: dict) -> str:
    """Render within the request's time; any failure at all becomes a TemplateProblem: a
    template must never stop the caller."""
    _check_request_budget()
    try:
        text = template.render(values)
    except Exception as error:  # noqa: BLE001 — whatever a template does, it is its problem
        raise TemplateProblem(_describe(error)) from error
    if len(text) > MAX_OUTPUT_CHARS:
        raise TemplateProblem(str(_l("The rendered email is too large (more than %(n)d "
                                     "characters).", n=MAX_OUTPUT_CHARS)))
    return text


def render(source: str, ctx: RenderContext, html: bool) -> str:
    """Render one field; raises TemplateProblem on any failure (bad or refused template,
    sandbox refusal, runtime error, the request's time spent)."""
    try:
        template = _compile(source, html)
        values = values_for(ctx, _used_names(source))
    except Exception as error:  # noqa: BLE001 — a syntax error, or a value that cannot be read
        raise TemplateProblem(_describe(error)) from error
    return _render(template, values)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


def render_email(subject: str, body_html: str, body_text: str,
                 ctx: RenderContext) -> RenderedEmail:
    """Subject, HTML and text parts for one recipient; the text part is derived when empty."""
    # Cleaned again after rendering: the template was cleaned on save, but a value it prints
    # (a candidate's name, say) may still make a `javascript:` link out of an href.
    html = html_policy.clean(render(body_html, ctx, html=True))
    secrets = ctx.secrets
    # An account email's link reaches its reader only: nothing outside the platform is
    # loaded, and no attribute but a link to the platform carries it.
    try:
        html = html_policy.guard_secrets(html, ctx.base_url, secrets)
    except Exception as error:  # noqa: BLE001 — unguarded, the message must not leave
        raise TemplateProblem(_describe(error)) from error
    text = render(body_text, ctx, html=False) if body_text.strip() else html_to_text(html)
    # Every email wears the platform's layout: the message is data inside it.
    html, text = branding.wrap(html, html_policy.guard_text(text, secrets), ctx)
    return RenderedEmail(
        subject=html_policy.guard_text(" ".join(render(subject, ctx, html=False).split()),
                                       secrets),
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

