"""What every response and request goes through: security headers, cookie flags, the bounds
on URLs and query strings."""

from flask import Flask, abort, request
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.routing import IntegerConverter

from webapp.web.forms import MAX_ID

# No inline script anywhere, not even htmx's: its indicator style is in app.css and eval is
# off (base.html's htmx-config). Inline style *attributes* are allowed, <style> elements are
# not: email previews (sandboxed srcdoc frames, which inherit this policy) are styled with
# attributes after cleaning, and so are the status badges. Images of email previews may come
# from anywhere over https, like in the recipients' mail clients.
# The template editor (Trix 2.1.19) inserts three fixed <style> elements of its own (an empty
# one, then its editor's and toolbar's default rules): allowed by their hashes, nothing else.
TRIX_STYLE_HASHES = (
    "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
    "sha256-jAP18ioNeNaQBBU5RJvT96kjJnVxHvZs+s8WUNiLnvA=",
    "sha256-c5Z9aB2t69CSpeI1aC8dDLr7LZYZlynV8iY/8Uc9ZFk=",
)
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' " + " ".join(f"'{h}'" for h in TRIX_STYLE_HASHES),
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data: https:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: an id beyond the database's INTEGER is a 404, not an error."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def is_https(app: Flask) -> bool:
    """HTTPS is assumed when configured so, and in production (not debug, not testing)."""
    if app.config.get("FORCE_HTTPS") is not None:
        return bool(app.config["FORCE_HTTPS"])
    return app.config.get("PREFERRED_URL_SCHEME") == "https" or not (app.debug or app.testing)


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter
    if is_https(app):
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True

    @app.before_request
    def bound_the_query_string():
        limit = app.config["MAX_QUERY_VALUE_LENGTH"]
        for values in request.args.listvalues():
            for value in values:
                if len(value) > limit:
                    abort(422, description=_("A value in the address is too long (at most "
                                             "%(n)d characters).", n=limit))
                if "\x00" in value:
                    abort(422, description=_("A value in the address contains a character "
                                             "that is not allowed."))
        if len(request.args) > app.config["MAX_QUERY_VALUES"]:
            abort(422, description=_("The address has too many values."))

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors for older browsers
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if is_https(app):
            headers.setdefault("Strict-Transport-Security",
                               f"max-age={app.config['HSTS_SECONDS']}; includeSubDomains")
        if request.endpoint != "static" and current_user and current_user.is_authenticated:
            # Personal pages must not stay in a shared computer's cache or a proxy.
            headers["Cache-Control"] = "no-store"
        return response
