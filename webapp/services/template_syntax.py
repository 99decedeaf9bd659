"""The template syntax an email may use, checked whenever a template is parsed: on save, in
the preview, and before it is compiled to be rendered.

An allow-list, not a budget. An email template prints placeholders (strings), text, conditions
and comparisons, joins values with `~` and passes them through filters that do not widen them.
Nothing else parses: no loop, macro, call, `{% set %}`, arithmetic, attribute or subscript. With
no construct that repeats or grows a value, a render costs one pass over the template, and its
output is bounded by the template's size times the longest value. The budgeted engine this
replaced (a sandbox counting steps, calls, value sizes and time during the render: ~250 lines
more) gave the same limits on the hostile payloads of bench/template_budget.py at a higher
price. Measured in one run, save check plus firing render, median of 3: its refusals took
0.5-117 ms (nested loops 117 ms, a 10 MB output 24 ms and 1.1 MB of memory, a recursive macro 11
ms) and a loop four deep over a 13-letter name still rendered 29,669 characters in 76 ms; the
allow-list refuses all 13 while parsing, in 0.5-1.5 ms and 0.02 MB. An ordinary render took 46
µs there, 22 µs here. Jinja's own parser and compiler recurse, so the nesting limits below stay:
a template nested past them would fail with no line to show.
"""

import re

import jinja2
from flask_babel import lazy_gettext as _l
from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment


class TemplateProblem(ValueError):
    """A template that cannot be saved or rendered; the message names the problem."""


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


class Refused(jinja2.TemplateSyntaxError):
    """A template this module refuses; its message is already in the reader's language and
    names the line."""


class TooComplex(Refused):
    """A template nested deeper, or with longer expressions, than any email needs."""


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


# The constructs an email may use, by Jinja node type (exact types: `+` and `and` share a base).
ALLOWED_NODES = frozenset({
    nodes.Template, nodes.Scope, nodes.Output, nodes.TemplateData, nodes.If, nodes.CondExpr,
    nodes.Name, nodes.Const, nodes.List, nodes.Tuple, nodes.Concat,
    nodes.Compare, nodes.Operand, nodes.And, nodes.Or, nodes.Not,
    nodes.Filter, nodes.Test, nodes.Keyword,
})
# Filters and tests that neither repeat nor widen a value (escaping and urlencode at most
# multiply it by six); their arguments may only be constants. The environments know no other.
FILTERS = frozenset({"capitalize", "count", "d", "default", "e", "escape", "first", "last",
                     "length", "lower", "striptags", "title", "trim", "truncate", "upper",
                     "urlencode", "wordcount"})
TESTS = frozenset({"==", "!=", "defined", "undefined", "none", "eq", "ne", "equalto", "in",
                   "lower", "upper", "string", "number"})
MAX_OUTPUT_CHARS = 1_000_000  # the rendered text of one part: never reached by a saved one

_INCLUDES = (nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)
_TAGS = {nodes.For: "for", nodes.Macro: "macro", nodes.CallBlock: "call", nodes.Assign: "set",
         nodes.AssignBlock: "set", nodes.With: "with", nodes.FilterBlock: "filter"}
_EXPRESSIONS = {  # what the editor reads for the usual refused expressions
    nodes.Call: _l("a call (…())"), nodes.Getattr: _l("an attribute (.name)"),
    nodes.Getitem: _l("a subscript ([…])"), nodes.Slice: _l("a subscript ([…])"),
}


class NotAllowed(Refused):
    """A construct outside the allow-list; its message names it and its line."""


def _refusal(node: nodes.Node) -> str:
    if isinstance(node, _INCLUDES):
        return str(_l("Including, extending or importing other templates is not allowed."))
    if isinstance(node, nodes.EvalContextModifier):
        return str(_l("Turning autoescaping off is not allowed."))
    if isinstance(node, nodes.Stmt):
        kind = _TAGS.get(type(node), type(node).__name__.lower())
        what = _l("the “%(tag)s” tag", tag=kind)
    elif isinstance(node, nodes.BinExpr | nodes.UnaryExpr):
        what = _l("arithmetic (+ - * / **)")
    else:
        what = _EXPRESSIONS.get(type(node), _l("this expression"))
    return str(_l("Line %(line)d: %(what)s is not allowed in an email template.",
                  line=node.lineno, what=what))


def check_allowed(tree: nodes.Template) -> None:
    """Raise NotAllowed for the first construct outside the allow-list."""
    for node in tree.find_all(nodes.Node):
        if type(node) not in ALLOWED_NODES:
            raise NotAllowed(_refusal(node), node.lineno)
        if isinstance(node, nodes.Filter | nodes.Test):
            arguments = [*node.args, *(k.value for k in node.kwargs)]
            if node.dyn_args or node.dyn_kwargs or any(
                    not isinstance(a, nodes.Const) for a in arguments):
                raise NotAllowed(str(_l(
                    "Line %(line)d: the arguments of “%(name)s” must be plain values.",
                    line=node.lineno, name=node.name)), node.lineno)


class EmailEnvironment(SandboxedEnvironment):
    """Jinja's sandbox with no globals and only the allowed filters and tests; every template
    it parses is held to the nesting limits and the allow-list."""

    def __init__(self, **options):
        super().__init__(**options)
        self.globals.clear()  # no range, cycler, joiner, lipsum, namespace, dict
        self.filters = {name: self.filters[name] for name in FILTERS}
        self.tests = {name: self.tests[name] for name in TESTS}

    def _parse(self, source, name, filename):
        _check_nesting(self.lexer.tokenize(source, name, filename))
        tree = super()._parse(source, name, filename)
        check_allowed(tree)
        return tree


HTML_ENV = EmailEnvironment(autoescape=True, undefined=jinja2.StrictUndefined)
TEXT_ENV = EmailEnvironment(autoescape=False, undefined=jinja2.StrictUndefined)


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
    if isinstance(error, Refused):
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

