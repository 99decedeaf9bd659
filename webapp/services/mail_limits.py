"""Mail sent on someone else's behalf: sign-up, "send the link again", "forgot your
password?" and the sign-in link all email an address the asker has not proved to own. Each
request is counted in the database, per client address and per target address, so the limits
hold across every web process: one client cannot flood many inboxes, and many clients cannot
flood one. The counts live beside the failed sign-ins (keys "mail-client:…" and "mail-to:…"),
in fixed windows: the row's `blocked_until` is the end of its current window."""

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite

from webapp.core import clock
from webapp.core.errors import ValidationFailed
from webapp.extensions import db
from webapp.models import SignInThrottle

log = logging.getLogger("missive.mail_limits")


class TooManyEmails(ValidationFailed):
    """This client asked for too many emails to strangers' addresses; nothing was sent."""


def _count(key: str, now: datetime, window: timedelta) -> int:
    """One more request for `key` in its window, atomically (an upsert whose count comes back
    from the same statement: concurrent processes never lose one); returns the count."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    t = SignInThrottle.__table__
    expired = sa.or_(t.c.blocked_until.is_(None), t.c.blocked_until <= now)
    statement = insert(t).values(key=key, failures=1, last_failure_at=now,
                                 blocked_until=now + window)
    statement = statement.on_conflict_do_update(
        index_elements=[t.c.key],
        set_={"failures": sa.case((expired, 1), else_=t.c.failures + 1),
              "blocked_until": sa.case((expired, now + window), else_=t.c.blocked_until),
              "last_failure_at": now},
    ).returning(t.c.failures)
    return db.session.execute(statement).scalar_one()


def _address(email: str) -> str:
    return "".join(c for c in (email or "").strip().lower() if ord(c) >= 0x20)[:254]


def allow(email: str, client_address: str) -> bool:
    """Count a request to email `email` from `client_address`, in the caller's transaction.

    Raises TooManyEmails when the client is over its limit (an answer about the client, which
    tells nothing of the address). Returns False when the address has had its share: the
    caller then answers as usual and sends nothing, whether or not the address has an
    account, so the answer tells nothing either."""
    config = current_app.config
    now = clock.now()
    by_client = _count(f"mail-client:{(client_address or 'unknown')[:64]}", now,
                       timedelta(hours=1))
    if by_client > config["MAIL_PER_CLIENT_PER_HOUR"]:
        log.warning("Emails on others' behalf refused to %s: %s this hour", client_address,
                    by_client)
        raise TooManyEmails(str(_l("Too many emails were asked from your connection in the "
                                   "last hour. Try again later.")), field="email")
    to_address = _count(f"mail-to:{_address(email)}", now, timedelta(days=1))
    if to_address > config["MAIL_PER_ADDRESS_PER_DAY"]:
        log.warning("Emails on others' behalf to one address over the day's limit: not sent")
        return False
    return True
