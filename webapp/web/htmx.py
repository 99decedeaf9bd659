"""The server side of htmx: tell requests apart, render page or fragment, set response headers."""

import json

from flask import Response, render_template, request


def is_htmx() -> bool:
    """True for requests made by htmx, except history restores, which need a full page."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render_page(page: str, partial: str | None = None, **context) -> str:
    """The partial for htmx requests, the full page otherwise (the page includes the partial)."""
    if partial and is_htmx():
        return render_template(partial, **context)
    return render_template(page, **context)


def form_response(page: str, partial: str, form, **context) -> tuple[str, int]:
    """A refused form shown again with its errors: `render_page` (the partial for htmx, else
    the page) with status 422, which base.html's htmx configuration swaps in as htmx 2 swaps
    no other 4xx. Where a page has no partial of its own, callers pass the page twice. The
    caller decides the form was refused: nothing here checks `form.errors`."""
    return render_page(page, partial, form=form, **context), 422


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
