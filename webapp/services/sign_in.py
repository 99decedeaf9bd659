"""Signing in, defended: failed attempts counted per account and per client address in the
database (so every web process and machine sees the same counts), growing delays, then a
temporary lock; every sign-in and lock in the audit trail."""

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.core import audit, clock
from webapp.core.errors import ValidationFailed
from webapp.extensions import db
from webapp.models import SignInThrottle, User
from webapp.services import sessions
from webapp.services.users import find_by_email, hash_method

log = logging.getLogger("missive.sign_in")

_dummy_hashes: dict[str, str] = {}


def _dummy() -> str:
    """A hash of nothing anyone knows, made like new passwords' hashes, checked when the
    address is unknown, so that an unknown address costs the same time as a wrong password."""
    method = hash_method()
    if method not in _dummy_hashes:
        _dummy_hashes[method] = generate_password_hash("not a password: timing only", method)
    return _dummy_hashes[method]


class SignInBlocked(ValidationFailed):
    """Too many failures: the attempt was not even checked."""

    def __init__(self, message: str, until: datetime):
        super().__init__(message, field="password")
        self.until = until


@dataclass(frozen=True)
class Policy:
    free: int  # failures allowed before any delay
    lock_after: int  # failures that lock for SIGN_IN_LOCK_MINUTES


def _policies() -> dict[str, Policy]:
    config = current_app.config
    return {"account": Policy(config["SIGN_IN_FREE_FAILURES"], config["SIGN_IN_LOCK_AFTER"]),
            "address": Policy(config["SIGN_IN_ADDRESS_FREE_FAILURES"],
                              config["SIGN_IN_ADDRESS_LOCK_AFTER"])}


def _keys(email: str, client_address: str) -> dict[str, str]:
    email = "".join(c for c in (email or "").strip().lower() if ord(c) >= 0x20)
    return {"account": f"account:{email[:254]}",
            "address": f"address:{(client_address or 'unknown')[:64]}"}


def delay_after(failures: int, policy: Policy) -> timedelta:
    """How long the next attempt must wait after `failures` failures: nothing while few, then
    doubling (2 s, 4 s, 8 s … at most a minute), then the lock."""
    if failures >= policy.lock_after:
        return timedelta(minutes=current_app.config["SIGN_IN_LOCK_MINUTES"])
    if failures <= policy.free:
        return timedelta()
    return timedelta(seconds=min(2 ** (failures - policy.free), 60))


def _wait_words(seconds: float) -> str:
    if seconds < 90:
        return str(_l("%(n)d seconds", n=max(1, math.ceil(seconds))))
    return str(_l("%(n)d minutes", n=math.ceil(seconds / 60)))


def _blocked(keys: dict[str, str], now: datetime) -> SignInBlocked | None:
    rows = db.session.execute(sa.select(SignInThrottle).where(
        SignInThrottle.key.in_(keys.values()), SignInThrottle.blocked_until > now)).scalars()
    policies = _policies()
    worst = None
    for row in rows:
        kind = row.key.split(":", 1)[0]
        locked = row.failures >= policies[kind].lock_after
        if worst is None or row.blocked_until > worst[0].blocked_until:
            worst = (row, locked)
    if worst is None:
        return None
    row, locked = worst
    wait = _wait_words((row.blocked_until - now).total_seconds())
    if locked:
        message = _l("Too many failed sign-ins: signing in is locked for %(wait)s. You can "
                     "still ask for a new password.", wait=wait)
    else:
        message = _l("Too many failed sign-ins: wait %(wait)s before trying again.", wait=wait)
    return SignInBlocked(str(message), row.blocked_until)


def _upsert(key: str, now: datetime, window_start: datetime) -> int:
    """Count one failure for `key` atomically (concurrent processes never lose one); returns
    the count. Failures older than the window are forgotten."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    t = SignInThrottle.__table__
    statement = insert(t).values(key=key, failures=1, last_failure_at=now, blocked_until=None)
    statement = statement.on_conflict_do_update(
        index_elements=[t.c.key],
        set_={"failures": sa.case((t.c.last_failure_at < window_start, 1),
                                  else_=t.c.failures + 1),
              "last_failure_at": now},
    ).returning(t.c.failures)
    return db.session.execute(statement).scalar_one()


def _record_failure(keys: dict[str, str], user: User | None, email: str, client_address: str,
                    now: datetime) -> SignInBlocked | None:
    window_start = now - timedelta(hours=current_app.config["SIGN_IN_FAILURE_WINDOW_HOURS"])
    policies = _policies()
    locked_now = False
    for kind, key in keys.items():
        failures = _upsert(key, now, window_start)
        delay = delay_after(failures, policies[kind])
        if delay:
            db.session.execute(sa.update(SignInThrottle).where(SignInThrottle.key == key)
                               .values(blocked_until=now + delay))
        if failures == policies[kind].lock_after:
            locked_now = True
            audit.record(None, f"sign_in.locked_{kind}", "user", user.id if user else None,
                         f"{key} after {failures} failed sign-ins")
            log.warning("Sign-in locked for %s after %s failures", key, failures)
    return _blocked(keys, now) if locked_now else None


def authenticate(email: str, password: str, client_address: str) -> User:
    """The active user with these credentials; commits the attempt's bookkeeping.

    Raises SignInBlocked while delayed or locked (without checking the password), and
    ValidationFailed for an unknown address or a wrong password alike."""
    now = clock.now()
    keys = _keys(email, client_address)
    blocked = _blocked(keys, now)
    if blocked:
        raise blocked
    user = find_by_email(email)
    if user is None:
        check_password_hash(_dummy(), password or "")
        valid = False
    else:
        valid = user.check_password(password or "") and user.active
    if not valid:
        blocked = _record_failure(keys, user, email, client_address, now)
        db.session.commit()
        if blocked:
            raise blocked
        raise ValidationFailed(str(_l("Unknown email or wrong password.")), field="password")
    db.session.execute(sa.delete(SignInThrottle).where(SignInThrottle.key == keys["account"]))
    user.last_login_at = now
    audit.record(user, "sign_in.succeeded", "user", user.id, f"from {client_address}")
    return user


def purge_stale() -> int:
    """Forget counts whose last failure left the window and that block nothing; commits."""
    now = clock.now()
    window_start = now - timedelta(hours=current_app.config["SIGN_IN_FAILURE_WINDOW_HOURS"])
    t = SignInThrottle
    result = db.session.execute(sa.delete(t).where(
        t.last_failure_at < window_start,
        sa.or_(t.blocked_until.is_(None), t.blocked_until < now)))
    db.session.commit()
    return result.rowcount or 0


def clear_account(email: str) -> None:
    """A new password lifts the account's lock (the caller commits)."""
    db.session.execute(sa.delete(SignInThrottle)
                       .where(SignInThrottle.key == _keys(email, "")["account"]))


def sign_in(email: str, password: str, client_address: str) -> tuple[User, str]:
    """Check the credentials and open a server-side session; returns the user and the
    session's token for the cookie. Commits."""
    user = authenticate(email, password, client_address)
    token = sessions.start(user, client_address)
    db.session.commit()
    return user, token
