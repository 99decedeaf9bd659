"""The cookie side of sessions: renewed at sign-in, emptied at sign-out."""

from flask import current_app, g, request, session
from flask_login import login_user, logout_user

SESSION_TOKEN_KEY = "sid"  # the cookie's key for the server-side session's token
KEPT = ("locale",)  # what survives a sign-in or sign-out: the language chosen


def _reset() -> None:
    kept = {key: session[key] for key in KEPT if key in session}
    session.clear()
    session.update(kept)
    # A new CSRF token too: one seen before signing in (by someone else at this computer, or
    # planted) is worthless after. Flask-WTF caches the request's token in g.
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)


def begin(user, token: str) -> None:
    """Sign `user` in on a fresh cookie session bound to the server-side session `token`."""
    _reset()
    session[SESSION_TOKEN_KEY] = token
    login_user(user)


def end() -> str | None:
    """Sign out of the cookie; returns the server-side session token to end."""
    token = session.get(SESSION_TOKEN_KEY)
    logout_user()
    _reset()
    return token


def token() -> str | None:
    """The server-side session token the cookie carries, if any."""
    return session.get(SESSION_TOKEN_KEY)


def client_address() -> str:
    """The client's address (the proxy's forwarded one when TRUSTED_PROXIES is set)."""
    return request.remote_addr or ""
