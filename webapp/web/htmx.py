"""The server side of htmx: the one partial-or-page rule (`render_page`) and response headers.

Views never look at htmx's request headers themselves: `render_page` decides, and
`webapp.web.redirects.see_other` answers a POST that succeeded."""

import json
from collections.abc import Callable

from flask import Response, flash, make_response, redirect, render_template, request


def is_htmx() -> bool:
    """True for requests made by htmx, except history restores, which need a full page."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render_page(page: str, partial: str | None = None, *, http_status: int = 200,
                see_other: str | None = None, page_context: Callable[[], dict] | None = None,
                page_message: tuple[str, str] | None = None,
                trigger: str | tuple[str, ...] | None = None, **context) -> Response:
    """The one rule choosing between a fragment and a whole page.

    htmx requests (not history restores) get `partial` rendered with `context` (and
    `as_partial=True`, for what only a swapped-in fragment shows: messages out of band, no
    links back). Every other request gets the page: `see_other` set, a 303 to that URL (after
    a POST, where htmx gets the fragment in place); else `page` rendered with `context` and
    `page_context()`, what only the page needs (computed for it alone). `page_message`, a
    (message, category) flashed for the page or redirect only: a fragment shows its outcome
    itself. Where a page has no fragment of its own, `partial` is omitted. A refused form is
    `http_status=422`, which base.html's htmx configuration swaps in as htmx 2 swaps no other
    4xx. `trigger`: an HX-Trigger event (or several) for htmx."""
    if partial and is_htmx():
        response = make_response(render_template(partial, as_partial=True, **context),
                                 http_status)
        for name in (trigger,) if isinstance(trigger, str) else trigger or ():
            add_trigger(response, name)
        return response
    if page_message and page_message[0]:
        flash(*page_message)
    if see_other is not None:
        return redirect(see_other, 303)
    extra = page_context() if page_context else {}
    return make_response(render_template(page, **context, **extra), http_status)


def add_trigger(response: Response, name: str, payload=None) -> Response:
    """Add an HX-Trigger event, merging with events already set on the response."""
    existing = response.headers.get("HX-Trigger")
    events: dict = {}
    if existing:
        try:
            events = json.loads(existing)
        except ValueError:
            events = {event.strip(): None for event in existing.split(",")}
    events[name] = payload
    response.headers["HX-Trigger"] = json.dumps(events)
    return response


def add_vary_header(response: Response) -> Response:
    """One URL serves a page or a fragment: caches must key on HX-Request."""
    response.vary.add("HX-Request")
    return response
