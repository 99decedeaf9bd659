"""The HTML an email may carry: one policy, applied when a template is saved and again to
every rendered email, so that a placeholder value can never bring a script, an event attribute
or a `javascript:` link onto the wire."""

import re
from html import escape
from urllib.parse import urlsplit

import lxml.etree
import lxml.html
import nh3

# Email clients render tables and inline styles, never scripts or forms.
EMAIL_TAGS = (nh3.ALLOWED_TAGS | {"font"}) - {"nav", "aside", "header", "footer", "details",
                                               "summary", "map", "area"}
EMAIL_ATTRIBUTES: dict[str, set[str]] = {tag: set(attrs)
                                         for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
for _tag, _extra in {
    "*": {"style", "align", "dir", "lang", "title"},
    "table": {"width", "border", "cellpadding", "cellspacing", "bgcolor", "role"},
    "td": {"width", "valign", "bgcolor"},
    "th": {"width", "valign", "bgcolor"},
    "tr": {"valign", "bgcolor"},
    "font": {"color", "face", "size"},
    "a": {"target"},
}.items():
    EMAIL_ATTRIBUTES.setdefault(_tag, set()).update(_extra)
# Listing these in both places makes nh3 refuse the call.
EMAIL_ATTRIBUTES["a"].discard("rel")
EMAIL_STYLE_PROPERTIES = {
    "color", "background-color", "font-family", "font-size", "font-weight", "font-style",
    "text-align", "text-decoration", "line-height", "margin", "margin-top", "margin-bottom",
    "margin-left", "margin-right", "padding", "padding-top", "padding-bottom", "padding-left",
    "padding-right", "border", "border-collapse", "width", "max-width", "vertical-align",
}
URL_SCHEMES = {"http", "https", "mailto", "tel"}


def clean(html: str) -> str:
    """Keep email-safe HTML only."""
    return nh3.clean(
        html or "", tags=EMAIL_TAGS, attributes=EMAIL_ATTRIBUTES, url_schemes=URL_SCHEMES,
        filter_style_properties=EMAIL_STYLE_PROPERTIES, link_rel="noopener noreferrer",
        strip_comments=True,
    )


# A preview shows an email, it does not act on it: a click on a link of the frame must neither
# navigate the frame nor reach a server (a confirmation link would confirm someone's account).
PREVIEW_POLICY = ('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
                  'img-src data:; style-src \'unsafe-inline\'; form-action \'none\'">')


def _inert_link(tag: str, attribute: str, value: str) -> str | None:
    if tag == "a" and attribute == "href":
        return None
    # The frame's policy would refuse an image from an address (the platform's logo
    # included) with an error: the preview shows its text instead.
    if tag == "img" and attribute in ("src", "srcset") and not value.startswith("data:"):
        return None
    return value


def for_preview(html: str) -> str:
    """The email's HTML for a sandboxed preview frame: links keep their text but lose their
    address, and the frame's own policy refuses every request."""
    body = nh3.clean(
        html or "", tags=EMAIL_TAGS, attributes=EMAIL_ATTRIBUTES, url_schemes=URL_SCHEMES,
        filter_style_properties=EMAIL_STYLE_PROPERTIES, link_rel=None, strip_comments=True,
        attribute_filter=_inert_link,
    )
    return PREVIEW_POLICY + body


# Account emails carry a secret (a link that signs its reader in). Its value may reach the
# person it is for, never an outside address: only the `href` of a link to the platform and
# plain text may hold it, and nothing in the message may load anything from elsewhere.

# Attributes holding a URL that a mail client may fetch (or send) by itself.
RESOURCE_ATTRIBUTES = frozenset({
    "src", "srcset", "background", "poster", "data", "lowsrc", "dynsrc", "longdesc", "cite",
    "action", "formaction", "xlink:href", "usemap", "profile", "codebase", "archive",
    "manifest", "icon", "ping", "content",
})
_CSS_URL = re.compile(r"url\s*\(\s*(['\"]?)(.*?)\1\s*\)", re.I | re.S)
_CSS_FETCH = re.compile(r"url\s*\(|image-set\s*\(|@import|expression\s*\(", re.I)
# Elements after which text starts a new line: nothing before them can glue onto a link.
_BLOCKS = frozenset({"p", "div", "br", "li", "ul", "ol", "td", "th", "tr", "table", "h1",
                     "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr", "dd", "dt"})
# What may stand right before a secret in text: a mail client that turns addresses into links
# must not find it glued to the end of an outside address.
_BEFORE_SECRET = re.compile(r"^[(\[{<«\"'“‘:]*\Z")


def _url_text(url: str) -> str:
    """A URL as a browser reads it: tabs and line breaks removed, outer spaces stripped."""
    return re.sub(r"[\t\n\r]", "", url or "").strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b"
                                                   "\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16"
                                                   "\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")


def is_platform_url(url: str, base_url: str) -> bool:
    """Whether `url` points into the platform at `base_url` (same scheme, host and port, under
    its path)."""
    found, base = urlsplit(_url_text(url)), urlsplit(base_url.strip())
    return (bool(base.netloc) and found.scheme.lower() == base.scheme.lower()
            and found.netloc.lower() == base.netloc.lower()
            and (found.path + "/").startswith(base.path.rstrip("/") + "/"))


def _srcset_urls(value: str) -> list[str]:
    return [candidate.split()[0] for candidate in value.split(",") if candidate.split()]


def outside_urls(attribute: str, value: str, base_url: str, tag: str = "") -> list[str]:
    """The URLs of an attribute that a mail client could fetch from outside the platform."""
    name = attribute.lower()
    if name == "style":
        urls = [url for _q, url in _CSS_URL.findall(value)]
        if _CSS_FETCH.search(value) and not urls:
            return [value]
    elif name == "srcset":
        urls = _srcset_urls(value)
    elif name in RESOURCE_ATTRIBUTES or (name == "href" and tag != "a"):
        urls = [value]
    else:
        return []
    return [url for url in urls if url.strip() and not is_platform_url(url, base_url)]


def glued_before(text_before: str) -> bool:
    """Whether text written right before a secret would glue onto it (`…?l=` + link)."""
    run = re.search(r"\S*\Z", text_before).group(0)
    return not _BEFORE_SECRET.match(run)


def walk_text(root):
    """Every text node of `root` in reading order: (element, "text" or "tail", the text read
    before it since the last block, the enclosing link or None). Iterative: any depth."""
    before, links = "", []
    for event, element in lxml.etree.iterwalk(root, events=("start", "end")):
        if not isinstance(element.tag, str):
            continue
        tag = element.tag.lower()
        if event == "start":
            if tag in _BLOCKS:
                before = ""
            if tag == "a":
                links.append(element)
            yield element, "text", before, links[-1] if links else None
            before += element.text or ""
        else:
            if tag == "a" and links:
                links.pop()
            if tag in _BLOCKS:
                before = ""
            if element is not root:
                yield element, "tail", before, links[-1] if links else None
                before += element.tail or ""


def _secret_parts(secrets: list[str], base_url: str) -> list[str]:
    """Each secret, and the part of it after the platform's address (the token): a template
    must not carry either anywhere else."""
    parts = []
    for secret in secrets:
        parts.append(secret)
        tail = secret.rsplit("/", 1)[-1]
        if len(tail) >= 16:
            parts.append(tail)
    return [p for p in parts if p]


def guard_secrets(html: str, base_url: str, secrets: list[str]) -> str:
    """The rendered HTML of an account email with nothing pointing outside but plain links
    without the secret: outside images and resources removed, any attribute carrying the
    secret removed unless it is a link to the platform, and the secret kept apart from any
    text before it."""
    if not html.strip() or not secrets:
        return html
    parts = _secret_parts(secrets, base_url)
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    images = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        tag = element.tag.lower()
        for name, value in list(element.attrib.items()):
            platform_link = tag == "a" and name.lower() == "href" \
                and is_platform_url(value, base_url)
            if outside_urls(name, value, base_url, tag) \
                    or (any(p in value for p in parts) and not platform_link):
                del element.attrib[name]
        if tag == "img" and not element.get("src"):
            images.append(element)
    for image in images:
        image.drop_tree()
    for element, slot, before, link in list(walk_text(root)):
        if link is not None and is_platform_url(link.get("href") or "", base_url):
            continue
        setattr(element, slot, guard_text(getattr(element, slot) or "", secrets, before))
    text = escape(root.text or "", quote=False)
    return text + "".join(lxml.html.tostring(child, encoding=str) for child in root)


def guard_text(text: str, secrets: list[str], before: str = "") -> str:
    """Plain text with each secret standing apart (a space before it when the text before it
    would glue onto it), and the bare token nowhere else."""
    if not text or not secrets:
        return text
    marks: dict[str, str] = {}
    for secret in secrets:
        mark = f"\x00{len(marks)}\x00"
        marks[mark] = secret
        text = text.replace(secret, mark)
    for part in _secret_parts(secrets, ""):
        if part not in secrets:
            text = text.replace(part, "")
    for mark, secret in marks.items():
        pieces = text.split(mark)
        out = pieces[0]
        for piece in pieces[1:]:
            out += (" " if glued_before(before + out) else "") + secret + piece
        text = out
    return text
