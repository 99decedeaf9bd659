"""The HTML an email may carry: one policy, applied when a template is saved and again to
every rendered email, so that a placeholder value can never bring a script, an event attribute
or a `javascript:` link onto the wire."""

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
