"""Where a secret placeholder (an account email's link) may stand in a template.

The link of a confirmation, reset or invitation email signs its reader in: whoever gets it
owns the account. So in the templates that carry one, the link may be written only as itself
(`{{ action_url }}`, no filter, no expression around it), in plain text or as the address of a
link to the platform, and nothing in the message may load anything from outside the platform
(an image fetched by the reader's mail client would hand the link to its host). Checked when
such a template is saved, and again before each account email is rendered: a template that
reached the database some other way falls back to the built-in wording. The rendered message
is then guarded once more (`html_policy.guard_secrets`).
"""

import re

import jinja2
import lxml.etree
import lxml.html
from flask_babel import lazy_gettext as _l
from jinja2 import nodes

from webapp.services import html_policy, templating

# {{ … }} is output; {% … %} and {# … #} write nothing themselves.
_OUTPUT = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_STATEMENT = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.DOTALL)
# Elements whose text is no text a reader sees.
_NOT_TEXT = frozenset({"style", "script", "title", "textarea", "noscript", "template", "xmp",
                       "head"})


def _bare_output(source: str, name: str) -> bool:
    return re.fullmatch(r"\{\{-?\s*" + re.escape(name) + r"\s*-?\}\}", source) is not None


def _use_problems(source: str) -> list[str]:
    """Each secret placeholder used other than on its own in the template's output. The
    allow-list (`template_syntax`) parses nothing that captures or rebinds what a template
    writes (macro, call, filter, set, block, for): in a template that parses, a placeholder is
    shown where it stands."""
    try:
        tree = templating.HTML_ENV.parse(source or "")
    except jinja2.TemplateSyntaxError:
        return []  # reported, with its line, by the template's own check
    problems: list[str] = []
    stack: list[tuple[nodes.Node, bool]] = [(tree, False)]
    while stack:
        node, bare = stack.pop()
        if isinstance(node, nodes.Name) and node.name in templating.SECRET_NAMES and not bare:
            message = str(_l("Line %(line)d: the link “%(name)s” may only be written as "
                             "{{ %(name)s }}, alone, in the text or as the address of a link to "
                             "the platform.", line=node.lineno, name=node.name))
            if message not in problems:
                problems.append(message)
        for child in node.iter_child_nodes():
            direct = isinstance(node, nodes.Output) and any(child is n for n in node.nodes)
            stack.append((child, direct))
    return problems


def _hide(source: str, originals: dict[str, str] | None = None) -> tuple[str, dict[str, str]]:
    """The source with statements removed and each output replaced by a token (mapped to the
    secret placeholder it writes, or to ""; `originals` receives what each token stands for)."""
    source = _STATEMENT.sub("", source or "")
    tokens: dict[str, str] = {}

    def token(match: re.Match) -> str:
        key = f"jinjaoutput{len(tokens)}x"
        tokens[key] = next((name for name in templating.SECRET_NAMES
                            if _bare_output(match.group(0), name)), "")
        if originals is not None:
            originals[key] = match.group(0)
        return key

    return _OUTPUT.sub(token, source), tokens


def _shown(value: str, originals: dict[str, str]) -> str:
    for key, original in originals.items():
        value = value.replace(key, original)
    return value[:120]


def _as_url(value: str, tokens: dict[str, str], base_url: str) -> str:
    """An attribute's value as a URL: a secret is a link into the platform, any other output
    a character no address may contain (so it can never make an address look like ours)."""
    for key, secret in tokens.items():
        value = value.replace(key, f"{base_url.rstrip('/')}/s" if secret else "§")
    return value


def _glue_problem(name: str) -> str:
    return str(_l("The link “%(name)s” must stand apart from the text before it (a space or a "
                  "line break), so that no other address can carry it.", name=name))


def _html_problems(source: str, base_url: str) -> list[str]:
    originals: dict[str, str] = {}
    hidden, tokens = _hide(source, originals)
    secrets = {key: name for key, name in tokens.items() if name}
    if not hidden.strip():
        return []
    try:
        root = lxml.html.fragment_fromstring(hidden, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return []
    problems: list[str] = []

    def add(message: str) -> None:
        if message not in problems:
            problems.append(message)

    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        tag = element.tag.lower()
        for attribute, value in element.attrib.items():
            url = _as_url(value, tokens, base_url)
            if html_policy.outside_urls(attribute, url, base_url, tag):
                add(str(_l("Account emails may not load anything from outside the platform "
                           "(images, styles, …): remove “%(value)s”.",
                           value=_shown(value, originals))))
            for key, name in secrets.items():
                if key in value and not (tag == "a" and attribute.lower() == "href"
                                         and html_policy.is_platform_url(url, base_url)):
                    add(str(_l("The link “%(name)s” may only be the address of a link to the "
                               "platform (%(base)s…) or plain text.", name=name, base=base_url)))
        if tag == "style" and html_policy.outside_urls("style", element.text or "", base_url):
            add(str(_l("Account emails may not load anything from outside the platform "
                       "(images, styles, …): remove “%(value)s”.", value="url(…)")))
    for element, slot, before, link in html_policy.walk_text(root):
        text = getattr(element, slot) or ""
        for key, name in secrets.items():
            if key not in text:
                continue
            if slot == "text" and element.tag in _NOT_TEXT:
                add(str(_l("The link “%(name)s” may only be the address of a link to the "
                           "platform (%(base)s…) or plain text.", name=name, base=base_url)))
            elif link is None and _glued(before + text, key, len(before)):
                add(_glue_problem(name))
    return problems


def _glued(text: str, key: str, start: int = 0) -> bool:
    """Whether any occurrence of `key` in `text` (from `start`) is glued to the text before."""
    index = text.find(key, start)
    while index >= 0:
        if html_policy.glued_before(text[:index]):
            return True
        index = text.find(key, index + len(key))
    return False


def _text_problems(source: str) -> list[str]:
    hidden, tokens = _hide(source)
    problems = []
    for key, name in tokens.items():
        if name and _glued(hidden, key):
            problems.append(_glue_problem(name))
    return problems


def problems(subject: str, body_html: str, body_text: str,
             base_url: str) -> dict[str, list[str]]:
    """Why an account email's parts may leak its link, by part (empty when they cannot)."""
    found = {
        "subject": _use_problems(subject) or _text_problems(subject),
        "body_html": _use_problems(body_html) or _html_problems(body_html, base_url),
        "body_text": _use_problems(body_text) or _text_problems(body_text),
    }
    return {part: messages for part, messages in found.items() if messages}
