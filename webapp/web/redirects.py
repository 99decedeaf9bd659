"""Redirects: `see_other`, the one answer to a POST that succeeded, and `safe_next`, the one
check for `next` targets (a redirect may only stay on this site).

`see_other` answers 303 See Other (the browser then GETs the target, and a reload does not
post again). htmx follows a redirect inside its request and would swap the new page into the
old one, so for htmx requests it answers 200 with HX-Redirect (the page loads in full) or,
given `into`, HX-Location (htmx loads the target into that element and pushes its URL).

Browsers are lenient where a naive check is strict: they drop tabs and line breaks anywhere in a
URL, read a backslash as a slash, and strip leading control characters, so `/%09/evil.example`,
`/\\evil.example` or `/\t/evil.example` all leave the site. Rather than guess how a browser
will read a doubtful target, any target that is not a plain same-site path is refused, in its
raw form and once percent-decoded (a proxy or a second redirect may decode it).
"""

import json
from urllib.parse import unquote, urlsplit

from flask import Response, redirect

from webapp.web.htmx import add_trigger, is_htmx

MAX_LENGTH = 2000


def _plain_path(target: str) -> bool:
    if not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target:
        return False
    if any(ord(char) < 0x20 or ord(char) == 0x7F or char.isspace() and char != " "
           for char in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None, fallback: str = "/") -> str:
    """`target` when it is a path on this site, else `fallback`."""
    if not isinstance(target, str) or not target or len(target) > MAX_LENGTH:
        return fallback
    decoded = target
    for _ in range(3):  # doubly encoded forms too (%252F…)
        if not _plain_path(decoded):
            return fallback
        once = unquote(decoded)
        if once == decoded:
            return target
        decoded = once
    return fallback


def see_other(url: str, *, into: str | None = None, swap: str = "outerHTML",
              trigger: str | None = None) -> Response:
    """After a POST: 303 to `url`; for htmx, HX-Redirect, or HX-Location into the element
    `into` (with `swap`). `trigger`: an HX-Trigger event for the page (htmx only)."""
    if not is_htmx():
        return redirect(url, 303)
    response = Response(status=200)
    if into:
        response.headers["HX-Location"] = json.dumps({"path": url, "target": into,
                                                      "swap": swap})
    else:
        response.headers["HX-Redirect"] = url
    return add_trigger(response, trigger) if trigger else response
