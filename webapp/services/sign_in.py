"""Signing in, defended: attempts counted per account and per client address in the database
(so every web process and machine sees the same counts), each counted before its password is
checked, so simultaneous guesses cannot outrun the limit; growing delays, then a lock of the
password only (a sign-in link by email still works); a client address is slowed, never
locked; a browser that signed in to an account before is not held back by strangers' counts.
Every sign-in and lock in the audit trail."""

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadData, URLSafeTimedSerializer
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
    lock_after: int | None  # failures that lock for SIGN_IN_LOCK_MINUTES; None: delays only
    alert_after: int | None = None  # failures that are audited as an attack


def _policies() -> dict[str, Policy]:
    config = current_app.config
    # A client address is only ever slowed down, never locked: several people may share it
    # (an office, a campus behind one NAT), and a lock would shut all of them out.
    return {"account": Policy(config["SIGN_IN_FREE_FAILURES"], config["SIGN_IN_LOCK_AFTER"]),
            "address": Policy(config["SIGN_IN_ADDRESS_FREE_FAILURES"], None,
                              config["SIGN_IN_ADDRESS_ALERT_AFTER"])}


def _keys(email: str, client_address: str, trusted: bool = False) -> dict[str, str]:
    """The counts an attempt goes to. From a browser that signed in to this account before
    (`trusted`), the account has a count of its own that strangers cannot raise, and the
    client address's count does not apply: guesses from elsewhere never lock the owner out."""
    email = "".join(c for c in (email or "").strip().lower() if ord(c) >= 0x20)[:254]
    if trusted:
        return {"account": f"trusted:{email}"}
    return {"account": f"account:{email}",
            "address": f"address:{(client_address or 'unknown')[:64]}"}


def delay_after(failures: int, policy: Policy) -> timedelta:
    """How long the next attempt must wait after `failures` failures: nothing while few, then
    doubling (2 s, 4 s, 8 s … at most a minute), then the lock."""
    if policy.lock_after and failures >= policy.lock_after:
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
    kinds = {key: kind for kind, key in keys.items()}
    worst = None
    for row in rows:
        kind = kinds[row.key]
        lock_after = policies[kind].lock_after
        locked = bool(lock_after) and row.failures >= lock_after
        if worst is None or row.blocked_until > worst[0].blocked_until:
            worst = (row, locked)
    if worst is None:
        return None
    row, locked = worst
    wait = _wait_words((row.blocked_until - now).total_seconds())
    if locked:
        message = _l("Too many failed sign-ins: signing in with a password is "
                     "locked for %(wait)s. You can still sign in with a link sent to your "
                     "address.", wait=wait)
    else:
        message = _l("Too many failed sign-ins: wait %(wait)s before trying again.", wait=wait)
    return SignInBlocked(str(message), row.blocked_until)


@dataclass
class _Count:
    failures: int  # with this attempt
    admitted: bool  # the key was not delayed: the password may be checked
    locked_now: bool  # this attempt brought the lock (or, for an address, the alert)


def _count(kind: str, key: str, now: datetime) -> _Count:
    """Count one attempt for `key`, holding its row until the transaction ends."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    t = SignInThrottle.__table__
    # The first statement writes: SQLite takes its write lock here, PostgreSQL the row's
    # lock just below, so concurrent attempts on one key go one after another.
    db.session.execute(insert(t).values(key=key, failures=0, last_failure_at=now,
                                        blocked_until=None)
                       .on_conflict_do_nothing(index_elements=[t.c.key]))
    row = db.session.execute(sa.select(t.c.failures, t.c.last_failure_at, t.c.blocked_until)
                             .where(t.c.key == key).with_for_update()).one()
    window_start = now - timedelta(hours=current_app.config["SIGN_IN_FAILURE_WINDOW_HOURS"])
    failures = 1 if row.last_failure_at < window_start else row.failures + 1
    blocked = row.blocked_until is not None and row.blocked_until > now
    policy = _policies()[kind]
    blocked_until = row.blocked_until
    if not blocked:
        delay = delay_after(failures, policy)
        blocked_until = now + delay if delay else None
    db.session.execute(sa.update(t).where(t.c.key == key).values(
        failures=failures, last_failure_at=now, blocked_until=blocked_until))
    limit = policy.lock_after or policy.alert_after
    previous = 0 if row.last_failure_at < window_start else row.failures
    return _Count(failures, not blocked, bool(limit) and previous < limit <= failures)


def _admit(keys: dict[str, str], now: datetime) -> dict[str, _Count]:
    """Count this attempt as a failure for every key before its password is checked, and
    commit. Every attempt counts, the refused ones too: N simultaneous guesses count as N.

    Counting first is what makes the limit hold under concurrency: simultaneous guesses take
    the row one after another, each sees the count and the delay its predecessors left, and
    only those admitted reach the password check. A right password takes its count back
    afterwards (`_settle`)."""
    db.session.commit()  # a fresh transaction whose first statement writes (SQLite's lock)
    counts = {kind: _count(kind, key, now) for kind, key in keys.items()}  # in a fixed order
    db.session.commit()
    return counts


def _settle(keys: dict[str, str], counts: dict[str, _Count], now: datetime) -> bool:
    """The password was right: take this attempt's count back. Refused (False) when other
    guesses came during the check and the account is delayed: a burst that reaches the
    limit does not let the right password through, whichever of its guesses it was."""
    t = SignInThrottle.__table__
    mine = counts["account"].failures
    cleared = db.session.execute(sa.delete(t).where(
        t.c.key == keys["account"],
        sa.not_(sa.and_(t.c.failures > mine, t.c.blocked_until > now))))
    if not cleared.rowcount and db.session.get(SignInThrottle, keys["account"]) is not None:
        db.session.commit()
        return False
    if "address" in keys:
        db.session.execute(sa.update(t).where(t.c.key == keys["address"], t.c.failures > 0)
                           .values(failures=t.c.failures - 1))
    return True


def _audit(keys: dict[str, str], counts: dict[str, _Count], user: User | None) -> None:
    for kind, key in keys.items():
        if counts[kind].locked_now:
            action = "slowed_address" if kind == "address" else "locked_account"
            audit.record(None, f"sign_in.{action}", "user", user.id if user else None,
                         f"{key} after {counts[kind].failures} failed sign-ins")
            log.warning("Sign-in %s for %s after %s failures", action, key,
                        counts[kind].failures)


def check_password(user: User | None, email: str, password: str, client_address: str,
                   trusted: bool = False) -> bool:
    """Whether `password` is the password of `user` (None: an unknown address, checked against
    a hash of the same cost), behind the throttle: the attempt is counted before the check
    and the count committed. Raises SignInBlocked while the account or the client is delayed
    or locked, without checking. `trusted`: the browser proved an earlier sign-in to this
    account, so the client address's count (shared by everyone behind it) does not apply.
    Every check of a password (sign-in, change of password, re-authentication) goes here."""
    now = clock.now()
    keys = _keys(email, client_address, trusted)
    counts = _admit(keys, now)
    if not all(count.admitted for count in counts.values()):
        _audit(keys, counts, user)
        db.session.commit()
        raise _blocked(keys, now) or _blocked_now(keys, now)
    if user is None:
        check_password_hash(_dummy(), password or "")
        valid = False
    else:
        valid = user.check_password(password or "") and user.active
    if valid and _settle(keys, counts, now):
        return True
    _audit(keys, counts, user)
    db.session.commit()
    if valid or counts["account"].failures >= _policies()["account"].lock_after:
        # The right password in a burst that reached the limit, or the failure that locked.
        raise _blocked(keys, now) or _blocked_now(keys, now)
    return False


def _blocked_now(keys: dict[str, str], now: datetime) -> SignInBlocked:
    """A key was blocked at admission and is no longer (its delay ran out meanwhile)."""
    return SignInBlocked(str(_l("Too many failed sign-ins: wait %(wait)s before trying again.",
                                wait=_wait_words(1))), now)


def authenticate(email: str, password: str, client_address: str,
                 trusted: bool = False) -> User:
    """The active user with these credentials; commits the attempt's bookkeeping.

    Raises SignInBlocked while delayed or locked (without checking the password), and
    ValidationFailed for an unknown address or a wrong password alike."""
    user = find_by_email(email)
    if not check_password(user, email, password, client_address, trusted):
        raise ValidationFailed(str(_l("Unknown email or wrong password.")), field="password")
    user.last_login_at = clock.now()
    audit.record(user, "sign_in.succeeded", "user", user.id, f"from {client_address}")
    return user


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="missive-device")


def device_token(user: User) -> str:
    """A token for a browser that just signed in to `user`'s account (kept in a long-lived
    cookie): later attempts from it are not held back by strangers' guesses."""
    return _device_serializer().dumps(user.id)


def trusted_device(token: str | None, email: str) -> bool:
    """Whether `token` proves an earlier sign-in to the account of `email` from this browser."""
    if not token:
        return False
    try:
        user_id = _device_serializer().loads(
            token, max_age=current_app.config["SIGN_IN_DEVICE_DAYS"] * 86400)
    except BadData:
        return False
    user = find_by_email(email)
    return user is not None and user.id == user_id


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
    db.session.execute(sa.delete(SignInThrottle).where(SignInThrottle.key.in_(
        [_keys(email, "")["account"], _keys(email, "", trusted=True)["account"]])))


def sign_in(email: str, password: str, client_address: str,
            device: str | None = None) -> tuple[User, str]:
    """Check the credentials and open a server-side session; returns the user and the
    session's token for the cookie. `device`: the browser's device token, if any. Commits."""
    user = authenticate(email, password, client_address, trusted_device(device, email))
    token = sessions.start(user, client_address)
    db.session.commit()
    return user, token
