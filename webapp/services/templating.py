"""User-written email templates: the placeholder catalogue, validation and sandboxed rendering.

Templates are written by platform managers, so they are rendered by a sandboxed Jinja
environment with no globals, StrictUndefined, and autoescape for HTML. Only the placeholders of
the catalogue exist; anything else is refused when the template is saved.
"""

import contextlib
import math
import re
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache, wraps
from zoneinfo import ZoneInfo

import jinja2
import jinja2.sandbox
import lxml.etree
import lxml.html
from babel.dates import format_date
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from inscriptis import Inscriptis
from jinja2 import meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from webapp.models import Application, Status, User
from webapp.services import branding, html_policy


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
    # Values known only to the caller, such as an account email's link.
    given: dict[str, str] = field(default_factory=dict)
    timezone: str = "Europe/Paris"  # the platform's: dates are stored in UTC

    @property
    def secrets(self) -> list[str]:
        """The real values of the secret placeholders (never the preview's samples)."""
        return [self.given[name] for name in sorted(SECRET_NAMES) if self.given.get(name)]


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
        platform_name=branding.current().name,
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
    # A value that grants access (an account link): it may only reach the person it is for,
    # never an outside address (see secret_links).
    secret: bool = False


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
                "MIS-K3VQ7ZP2", lambda c: c.application.reference),
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
    Placeholder("action_url", _l("The link the person follows (confirm, choose a password)"),
                "https://missive.example.org/auth/confirm/…",
                lambda c: c.given.get("action_url", ""), secret=True),
    Placeholder("link_expiry", _l("How long the link stays valid"), _l("48 hours"),
                lambda c: c.given.get("link_expiry", "")),
)
PLACEHOLDERS = {p.name: p for p in CATALOGUE}
# The platform's account emails know a person and a link, not an application.
SYSTEM_NAMES = frozenset({"recipient_name", "platform_name", "today", "action_url",
                          "link_expiry"})
CAMPAIGN_NAMES = frozenset(PLACEHOLDERS) - {"action_url", "link_expiry"}
SECRET_NAMES = frozenset(p.name for p in CATALOGUE if p.secret)


def names_for(system: bool) -> frozenset[str]:
    """The placeholders a template may use: system (account) emails or campaign emails."""
    return SYSTEM_NAMES if system else CAMPAIGN_NAMES


class TemplateProblem(ValueError):
    """A template that cannot be saved or rendered; the message names the problem."""


class BudgetExceeded(TemplateProblem):
    """The template asked for more work, memory or output than one email may take."""


# The rendering budget of one email. Real templates stay far below it; it exists so that a
# template (or a placeholder value) can never hold a request or the worker.
MAX_OUTPUT_CHARS = 1_000_000  # the rendered text of one part
MAX_VALUE_CHARS = 100_000  # any string or sequence a template builds
MAX_INT_BITS = 4096  # any integer a template computes (about 1,200 digits)
MAX_STEPS = 100_000  # loop iterations, calls and filter applications together
MAX_CALL_DEPTH = 50  # macros calling macros
MAX_SECONDS = 1.0  # wall clock of one render
# Wall clock of all the renders of one web request (a bulk change renders one email per
# recipient); TEMPLATE_REQUEST_SECONDS in the configuration overrides it.
REQUEST_SECONDS = 15.0
MAX_FORMAT_WIDTH = 1000  # a width or precision in %-formatting
MAX_FILTER_NUMBER = 10_000  # a number given to a filter (a width, a length, a count)

# Methods a template may call on plain values: none that can grow a value or change one.
SAFE_METHODS: dict[type, frozenset[str]] = {
    str: frozenset({"upper", "lower", "title", "capitalize", "strip", "lstrip", "rstrip",
                    "startswith", "endswith", "split", "count", "find", "isdigit", "isalpha",
                    "isspace", "isupper", "islower"}),
    dict: frozenset({"get", "items", "keys", "values"}),
    list: frozenset({"count", "index"}),
    tuple: frozenset({"count", "index"}),
}
_FORMAT_SPEC = re.compile(r"%[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


class RequestBudgetExceeded(BudgetExceeded):
    """The renders of one web request took longer together than the request may spend."""


def _now() -> float:
    return time.monotonic()


# The budget of the current web request: [seconds, deadline once the first render starts].
# The web layer opens it per request (setup.init_request_budget); outside a request (the
# worker) there is none and only the per-email budget applies.
_REQUEST_BUDGET: ContextVar[list | None] = ContextVar("template_request_budget", default=None)


def open_request_budget(seconds: float = REQUEST_SECONDS) -> None:
    """Give the renders of the request starting now `seconds` in all, counted from the first."""
    _REQUEST_BUDGET.set([float(seconds), None])


def close_request_budget() -> None:
    _REQUEST_BUDGET.set(None)


@contextlib.contextmanager
def outside_request_budget():
    """Renders that must happen whatever the request spent before (an account email's
    built-in wording): only the per-email budget applies to them, as in the worker."""
    token = _REQUEST_BUDGET.set(None)
    try:
        yield
    finally:
        _REQUEST_BUDGET.reset(token)


def _request_deadline() -> tuple[float, float] | None:
    """When the current web request must stop rendering, and its budget in seconds; None
    outside a request."""
    budget = _REQUEST_BUDGET.get()
    if budget is None:
        return None
    if budget[1] is None:
        budget[1] = _now() + budget[0]
    return budget[1], budget[0]


class _Budget:
    """What one render has spent so far."""

    def __init__(self):
        self.steps = 0
        self.depth = 0
        self.request = _request_deadline()
        now = _now()
        self.deadline = now + MAX_SECONDS
        self._check_request(now)

    def _check_request(self, now: float) -> None:
        if self.request is not None and now > self.request[0]:
            raise RequestBudgetExceeded(str(_l(
                "Rendering the emails of this request takes too long (more than %(n)d "
                "seconds in all).", n=round(self.request[1]))))

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise BudgetExceeded(str(_l("This template does too much work (more than "
                                        "%(n)d steps).", n=MAX_STEPS)))
        now = _now()
        self._check_request(now)
        if now > self.deadline:
            raise BudgetExceeded(str(_l("This template takes too long to render.")))


_BUDGET: ContextVar[_Budget | None] = ContextVar("template_budget", default=None)


def _spend() -> _Budget:
    budget = _BUDGET.get()
    if budget is None:
        # Outside a render (Jinja folding constants at compile time): refuse, so the work is
        # done at render time, under a budget.
        raise BudgetExceeded("no rendering budget")
    budget.step()
    return budget


def _size(value) -> int:
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, list | tuple | dict | set | frozenset):
        return len(value) + sum(len(item) for item in value if isinstance(item, str))
    return 0


def _checked(value):
    """Refuse a value larger than any email needs."""
    if _size(value) > MAX_VALUE_CHARS:
        raise BudgetExceeded(str(_l("This template builds a value that is too large (more "
                                    "than %(n)d characters).", n=MAX_VALUE_CHARS)))
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise BudgetExceeded(str(_l("This template computes a number that is too large.")))
    return value


def _check_format(spec: str) -> None:
    for width, precision in _FORMAT_SPEC.findall(spec):
        for number in (width, precision):
            if number == "*" or (number and int(number) > MAX_FORMAT_WIDTH):
                raise BudgetExceeded(str(_l("This template asks for a format width that is "
                                            "too large.")))


def _bounded_iteration(value):
    """Wraps the iterable of every {% for %}: each turn spends a step."""
    budget = _spend()
    for item in value:
        budget.step()
        yield item


def _budgeted_filter(name: str, function):
    """A built-in filter whose arguments and result stay within the budget."""

    @wraps(function)  # keeps Jinja's pass_context/pass_environment marks
    def budgeted(*args, **kwargs):
        _spend()
        numbers = [a for a in (*args, *kwargs.values())
                   if isinstance(a, int | float) and not isinstance(a, bool)]
        if any(abs(n) > MAX_FILTER_NUMBER for n in numbers):
            raise BudgetExceeded(str(_l("A number given to a filter is too large.")))
        sizes = sorted((_size(a) for a in (*args, *kwargs.values())), reverse=True) + [0, 0]
        widest = max([abs(int(n)) for n in numbers] + [sizes[1]])
        # What the filter may allocate (e.g. replace, center, indent), checked before it does.
        if (sizes[0] + 1) * (widest + 1) > 10 * MAX_OUTPUT_CHARS:
            raise BudgetExceeded(str(_l("This template builds a value that is too large (more "
                                        "than %(n)d characters).", n=MAX_VALUE_CHARS)))
        if name == "format" and args:
            _check_format(str(args[0]))
        return _checked(function(*args, **kwargs))

    return budgeted


class _Budgeted(NodeTransformer):
    """Puts every loop and every concatenation (`~`) of a parsed template under the budget."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        node = self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, "budget_iter", [], [], None, None,
                                 lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        node = self.generic_visit(node)
        return nodes.Filter(node, "budget_value", [], [], None, None, lineno=node.lineno)


# How deep a template may nest, checked on its tokens before it is parsed: Jinja's parser and
# compiler recurse (and Python refuses code nested past 100 blocks or 200 brackets), so a
# deeper template would fail with no line to show. Real templates stay far below.
MAX_NESTING = 20  # brackets inside one tag, and blocks ({% if %}, {% for %}, …) inside blocks
MAX_OPERATORS = 50  # filters, operators, attributes and subscripts of one tag
_OPENING = frozenset({"lparen", "lbracket", "lbrace"})
_CLOSING = frozenset({"rparen", "rbracket", "rbrace"})
_OPERATORS = frozenset({"pipe", "dot", "add", "sub", "mul", "div", "floordiv", "mod", "pow",
                        "tilde", "eq", "ne", "lt", "lteq", "gt", "gteq", "lbracket"})
_WORD_OPERATORS = frozenset({"not", "and", "or", "is", "in", "if", "else"})
_BLOCK_TAGS = frozenset({"for", "if", "macro", "call", "filter", "with", "block", "autoescape",
                         "set"})


class TooComplex(jinja2.TemplateSyntaxError):
    """A template nested deeper, or with longer expressions, than any email needs; its message
    is already in the reader's language and names the line."""


def _check_nesting(stream) -> None:
    blocks, tag, line = 0, None, 1
    brackets = operators = 0
    for token in stream:
        kind = token.type
        if kind in ("block_begin", "variable_begin"):
            tag, line, brackets, operators = [], token.lineno, 0, 0
            continue
        if kind in ("block_end", "variable_end"):
            if kind == "block_end" and tag and tag[0].type == "name":
                word = tag[0].value
                block_set = word == "set" and not any(t.type == "assign" for t in tag)
                if word in _BLOCK_TAGS and (word != "set" or block_set):
                    blocks += 1
                    if blocks > MAX_NESTING:
                        raise TooComplex(str(_l(
                            "Line %(line)d: blocks are nested too deeply (more than %(n)d "
                            "levels).", line=line, n=MAX_NESTING)), line)
                elif word.startswith("end"):
                    blocks -= 1
            tag = None
            continue
        if tag is None:
            continue
        tag.append(token)
        if kind in _OPENING:
            brackets += 1
            if brackets > MAX_NESTING:
                raise TooComplex(str(_l("Line %(line)d: brackets are nested too deeply (more "
                                        "than %(n)d levels).", line=line, n=MAX_NESTING)), line)
        elif kind in _CLOSING:
            brackets -= 1
        if kind in _OPERATORS or (kind == "name" and token.value in _WORD_OPERATORS):
            operators += 1
            if operators > MAX_OPERATORS:
                raise TooComplex(str(_l("Line %(line)d: this expression is too long (more than "
                                        "%(n)d filters and operators).", line=line,
                                        n=MAX_OPERATORS)), line)


class BudgetedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's sandbox (no Python internals, no mutation of lists and dicts) with a budget:
    refuses huge powers and repetitions, caps loops, calls, recursion, values and time."""

    intercepted_binops = frozenset({"**", "*", "+", "%"})

    def __init__(self, **options):
        super().__init__(**options)
        self.globals.clear()  # no range, cycler, joiner, lipsum, namespace, dict
        self.filters = {name: _budgeted_filter(name, f) for name, f in self.filters.items()}
        self.filters["budget_iter"] = _bounded_iteration
        self.filters["budget_value"] = _checked

    def _parse(self, source, name, filename):
        _check_nesting(self.lexer.tokenize(source, name, filename))
        return super()._parse(source, name, filename)

    def is_safe_attribute(self, obj, attr, value) -> bool:
        for kind, allowed in SAFE_METHODS.items():
            if isinstance(obj, kind):
                return attr in allowed and super().is_safe_attribute(obj, attr, value)
        if isinstance(obj, int | float | bytes | set | frozenset):
            return False
        return super().is_safe_attribute(obj, attr, value)

    def call_binop(self, context, operator, left, right):
        _spend()
        numbers = all(isinstance(v, int | float) for v in (left, right))
        if operator == "**" and numbers and isinstance(right, int | float) and right > 1:
            if abs(left) > 1 and right * math.log2(abs(left)) > MAX_INT_BITS:
                raise BudgetExceeded(str(_l("This template computes a number that is too "
                                            "large.")))
        elif operator == "*" and not numbers:
            count = right if isinstance(right, int) else left if isinstance(left, int) else 0
            other = left if count is right else right
            if count > 0 and _size(other) * count > MAX_VALUE_CHARS:
                raise BudgetExceeded(str(_l("This template builds a value that is too large "
                                            "(more than %(n)d characters).", n=MAX_VALUE_CHARS)))
        elif operator == "*" and isinstance(left, int) and isinstance(right, int):
            if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise BudgetExceeded(str(_l("This template computes a number that is too "
                                            "large.")))
        elif operator == "%" and isinstance(left, str):
            _check_format(left)
        elif operator == "+" and not numbers and _size(left) + _size(right) > MAX_VALUE_CHARS:
            raise BudgetExceeded(str(_l("This template builds a value that is too large (more "
                                        "than %(n)d characters).", n=MAX_VALUE_CHARS)))
        return _checked(super().call_binop(context, operator, left, right))

    def call(__self, __context, __obj, *args, **kwargs):
        budget = _spend()
        if budget.depth >= MAX_CALL_DEPTH:
            raise BudgetExceeded(str(_l("This template calls itself too deeply (more than "
                                        "%(n)d levels).", n=MAX_CALL_DEPTH)))
        budget.depth += 1
        try:
            return _checked(super().call(__context, __obj, *args, **kwargs))
        finally:
            budget.depth -= 1



HTML_ENV = BudgetedSandbox(autoescape=True, undefined=jinja2.StrictUndefined)
TEXT_ENV = BudgetedSandbox(autoescape=False, undefined=jinja2.StrictUndefined)


def find_problems(source: str, names: frozenset[str] = CAMPAIGN_NAMES) -> list[str]:
    """Why `source` is not a valid template: syntax errors (with line) and placeholders outside
    `names`."""
    try:
        # Unknown filters and tests are found when compiling, which both of these do.
        used = meta.find_undeclared_variables(HTML_ENV.parse(source or ""))
        template = _compile(source, True)
    except jinja2.TemplateSyntaxError as error:
        return [syntax_problem(error)]
    unknown = sorted(used - names)
    if unknown:
        return [str(_l("Unknown placeholder: %(name)s", name=name)) for name in unknown]
    try:
        _render_budgeted(template, {name: name for name in names})
    except TemplateProblem as error:
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
    (re.compile(r"^No filter named '(?P<token>[^']+)'"), _l("unknown filter “%(token)s”")),
    (re.compile(r"^No test named '(?P<token>[^']+)'"), _l("unknown test “%(token)s”")),
    (re.compile(r"^unexpected end of template", re.I),
     _l("the template ends before a placeholder or a tag is closed")),
    (re.compile(r"^Expected an expression, got '(?P<found>.+)'$"),
     _l("a placeholder name is missing before “%(found)s”")),
)


def syntax_problem(error: jinja2.TemplateSyntaxError) -> str:
    """A syntax error in the reader's language, naming the problem and its line."""
    if isinstance(error, TooComplex):
        return str(error.message)
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
    env = HTML_ENV if autoescape else TEXT_ENV
    return env.from_string(_Budgeted().visit(env.parse(source)))


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
    if isinstance(error, ZeroDivisionError):
        return str(_l("division by zero"))
    if isinstance(error, RecursionError):
        return str(_l("This template calls itself too deeply (more than %(n)d levels).",
                      n=MAX_CALL_DEPTH))
    if isinstance(error, jinja2.UndefinedError | jinja2.sandbox.SecurityError):
        return str(error)
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _render_budgeted(template: jinja2.Template, values: dict) -> str:
    """Render under a fresh budget; stream the output so its size is capped as it grows.
    Any failure at all becomes a TemplateProblem: a template must never stop the caller."""
    token = _BUDGET.set(_Budget())
    try:
        parts, size = [], 0
        for part in template.generate(values):
            size += len(part)
            if size > MAX_OUTPUT_CHARS:
                raise BudgetExceeded(str(_l("The rendered email is too large (more than "
                                            "%(n)d characters).", n=MAX_OUTPUT_CHARS)))
            parts.append(part)
        return "".join(parts)
    except Exception as error:  # noqa: BLE001 — whatever a template does, it is its problem
        if isinstance(error, TemplateProblem):
            raise
        raise TemplateProblem(_describe(error)) from error
    finally:
        _BUDGET.reset(token)


def render(source: str, ctx: RenderContext, html: bool) -> str:
    """Render one field; raises TemplateProblem on any failure (bad template, sandbox refusal,
    runtime error, budget exceeded)."""
    try:
        template = _compile(source, html)
        values = values_for(ctx, _used_names(source))
    except Exception as error:  # noqa: BLE001 — a syntax error, or a value that cannot be read
        raise TemplateProblem(_describe(error)) from error
    return _render_budgeted(template, values)


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


def help_items(names: frozenset[str] = CAMPAIGN_NAMES,
               locale: str = "en") -> list[tuple[str, str, str]]:
    """(name, description, example) for the editor's placeholder help, in `locale`."""
    samples = sample_values(locale)
    return [(p.name, str(p.description), samples[p.name]) for p in CATALOGUE if p.name in names]
