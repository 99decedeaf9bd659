"""Server-side sessions: a row per signed-in browser, checked on every request.

Chosen over a per-account session counter so that signing out in one browser leaves the
person's other browsers signed in, while a password change or a deactivation can still end all
of them; and so that idle and absolute timeouts are enforced here, whatever a cookie claims.
"""

import hashlib
import logging
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from webapp.core import clock
from webapp.extensions import db
from webapp.models import User, UserSession

log = logging.getLogger("missive.sessions")

# last_seen_at is written at most this often: a write per request would serialise SQLite.
TOUCH_EVERY = timedelta(seconds=60)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _limits():
    config = current_app.config
    return (timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
            timedelta(hours=config["SESSION_MAX_HOURS"]))


def start(user: User, client_address: str = "") -> str:
    """Open a session for `user` in the caller's transaction; returns the cookie's token.
    The user's expired sessions are removed on the way."""
    now = clock.now()
    idle, lifetime = _limits()
    s = UserSession.__table__.c
    db.session.execute(sa.delete(UserSession).where(
        s.user_id == user.id, sa.or_(s.last_seen_at < now - idle, s.created_at < now - lifetime)))
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(token_hash=_hash(token), user_id=user.id,
                               client_address=(client_address or "")[:64],
                               created_at=now, last_seen_at=now))
    return token


def user_for(user_id: str, token: str | None) -> User | None:
    """The active user of a live session, or None: unknown, revoked, idle or too old."""
    if not token or not str(user_id).isdigit():
        return None
    # The session and its user in one query: it runs on every signed-in request.
    row = db.session.execute(
        sa.select(User, UserSession.id, UserSession.created_at, UserSession.last_seen_at)
        .join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.token_hash == _hash(token), UserSession.user_id == int(user_id))
    ).first()
    if row is None:
        return None
    now = clock.now()
    idle, lifetime = _limits()
    if row.last_seen_at < now - idle or row.created_at < now - lifetime:
        _on_own_connection(sa.delete(UserSession).where(UserSession.id == row.id))
        return None
    user = row.User
    if not user.active:
        return None
    if row.last_seen_at < now - TOUCH_EVERY:
        _on_own_connection(sa.update(UserSession).where(UserSession.id == row.id)
                           .values(last_seen_at=now))
    return user


def _on_own_connection(statement) -> None:
    """Bookkeeping outside the request's transaction, which it must neither commit nor
    roll back. It may be skipped (a busy database): the check above has already decided."""
    try:
        with db.engine.begin() as connection:
            connection.execute(statement)
    except sa.exc.OperationalError as error:
        log.warning("Session bookkeeping skipped: %s", error)


def end(token: str | None) -> None:
    """Sign-out: this browser's session is gone, a copy of its cookie included; commits."""
    if token:
        db.session.execute(sa.delete(UserSession).where(UserSession.token_hash == _hash(token)))
        db.session.commit()


def end_all(user: User) -> int:
    """End every session of `user` (password changed, account deactivated), in the caller's
    transaction; returns how many."""
    result = db.session.execute(sa.delete(UserSession).where(UserSession.user_id == user.id))
    return result.rowcount or 0


def purge_expired() -> int:
    """Delete every session past its idle or absolute limit; commits."""
    now = clock.now()
    idle, lifetime = _limits()
    result = db.session.execute(sa.delete(UserSession).where(sa.or_(
        UserSession.last_seen_at < now - idle, UserSession.created_at < now - lifetime)))
    db.session.commit()
    return result.rowcount or 0


def count(user: User) -> int:
    return db.session.scalar(sa.select(sa.func.count(UserSession.id))
                             .where(UserSession.user_id == user.id)) or 0
