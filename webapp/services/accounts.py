"""Accounts by email: sign-up with a confirmation link, invitations, forgotten passwords.

Links carry an itsdangerous token: signed with the secret key, timed, salted per purpose (a
confirmation token is not a reset token), and bound to a fingerprint of the state the link
changes: the address and whether it is confirmed, or the password hash. Once the link has done
its work that state differs, so the same link is refused: single use without a table of used
tokens, and a reset link dies as soon as the password changes by any way.
"""

import hashlib
import logging
from datetime import UTC, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadData, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from werkzeug.security import generate_password_hash

from webapp import outbox
from webapp.core import audit, clock
from webapp.core.addresses import InvalidAddress, normalize_email
from webapp.core.errors import ValidationFailed
from webapp.extensions import db
from webapp.models import Role, User
from webapp.services import account_emails, mail_limits, sessions, sign_in
from webapp.services.users import create_user, find_by_email, hash_method, password_problems

log = logging.getLogger("missive.accounts")

CONFIRM = "confirm"
RESET = "reset"
INVITE = "invite"
SIGN_IN = "sign-in"

# Where each link leads (the auth blueprint's routes; a test follows each one).
PATHS = {CONFIRM: "/auth/confirm/{token}", RESET: "/auth/reset/{token}",
         INVITE: "/auth/invitation/{token}", SIGN_IN: "/auth/link/{token}"}
EMAILS = {CONFIRM: account_emails.CONFIRMATION, RESET: account_emails.PASSWORD_RESET,
          INVITE: account_emails.INVITATION, SIGN_IN: account_emails.SIGN_IN_LINK}


class LinkProblem(Exception):
    """A link that cannot be used; the message says why and what to do."""


class AlreadyConfirmed(LinkProblem):
    """A confirmation link followed again: nothing to do, and nothing wrong."""


class _ClockSigner(TimestampSigner):
    """Timestamps from the application's clock, so that expiry follows the one time seam."""

    def get_timestamp(self) -> int:
        return int(clock.now().replace(tzinfo=UTC).timestamp())


def _valid_for(purpose: str) -> timedelta:
    config = current_app.config
    return {CONFIRM: timedelta(hours=config["CONFIRMATION_LINK_HOURS"]),
            RESET: timedelta(minutes=config["PASSWORD_RESET_LINK_MINUTES"]),
            INVITE: timedelta(days=config["INVITATION_LINK_DAYS"]),
            SIGN_IN: timedelta(minutes=config["SIGN_IN_LINK_MINUTES"])}[purpose]


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"],
                                  salt=f"missive-account-{purpose}", signer=_ClockSigner)


def _fingerprint(user: User, purpose: str) -> str:
    if purpose == CONFIRM:
        state = f"{user.email}|{user.email_confirmed_at is not None}"
    elif purpose == SIGN_IN:  # used once: signing in changes the last sign-in's time
        state = f"{user.password_hash}|{user.last_login_at}"
    else:
        state = user.password_hash
    return hashlib.sha256(f"{purpose}|{state}".encode()).hexdigest()[:24]


def make_token(user: User, purpose: str) -> str:
    return _serializer(purpose).dumps({"u": user.id, "f": _fingerprint(user, purpose)})


def user_for_token(token: str, purpose: str) -> User:
    """The account a link is for; LinkProblem when expired, used, tampered with or unknown."""
    try:
        data = _serializer(purpose).loads(token or "",
                                          max_age=int(_valid_for(purpose).total_seconds()))
    except SignatureExpired:
        raise LinkProblem(str(_l("This link has expired. Ask for a new one below."))) from None
    except BadData:
        raise LinkProblem(str(_l("This link is not valid: it may have been cut or changed. "
                                 "Copy the whole link from the email, or ask for a new "
                                 "one."))) from None
    user = db.session.get(User, data.get("u")) if isinstance(data, dict) and isinstance(
        data.get("u"), int) else None
    if user is None or not user.active:
        raise LinkProblem(str(_l("This link is not valid any more.")))
    if data.get("f") != _fingerprint(user, purpose):
        if purpose == CONFIRM and user.email_confirmed:
            raise AlreadyConfirmed(str(_l("This address is already confirmed.")))
        raise LinkProblem(str(_l("This link was already used, or the password changed since. "
                                 "Ask for a new one below.")))
    return user


def _send(user: User, purpose: str) -> None:
    path = PATHS[purpose].format(token=make_token(user, purpose))
    account_emails.queue(user, EMAILS[purpose], path, _valid_for(purpose))


# Sign-up and confirmation ---------------------------------------------------------------


def sign_up_candidate(email: str, first_name: str, last_name: str, password: str,
                      locale: str | None, client_address: str = "") -> None:
    """A candidate creates their own account, unconfirmed; the confirmation email is queued in
    the same transaction, and the person signs in once they have it. For an address that
    already has an account the answer is the same, and its owner is told of the attempt:
    sign-up never says which addresses have an account. Commits.

    Raises ValidationFailed for a malformed address or a weak password (answers about what
    was typed, the same for every address), TooManyEmails when this client asked for too
    many emails on others' behalf."""
    errors: dict[str, list[str]] = {}
    try:
        email = normalize_email(email)
    except InvalidAddress:
        errors["email"] = [str(_l("Enter a valid email address."))]
    problems = password_problems(password, (email, first_name, last_name))
    if problems:
        errors["password"] = problems
    if errors:
        raise ValidationFailed(errors)
    # Counting first is what makes simultaneous sign-ups for one address safe: the count is
    # an upsert on the address's row, so the second waits for the first to commit and then
    # finds its account.
    allowed = mail_limits.allow(email, client_address)
    owner = find_by_email(email)
    if owner is None:
        user = create_user(email, first_name, last_name, password, [Role.CANDIDATE], locale,
                           check_strength=False)
        user.confirmation_sent_at = clock.now()
        audit.record(user, "account.signed_up", "user", user.id, user.email)
        if allowed:
            _send(user, CONFIRM)
    else:
        generate_password_hash(password)  # the cost of creating an account, spent alike
        audit.record(None, "account.sign_up_for_existing_address", "user", owner.id,
                     f"from {client_address}")
        if allowed and owner.active:
            account_emails.queue(owner, account_emails.ACCOUNT_EXISTS, "/auth/forgot",
                                 _valid_for(RESET))
    db.session.commit()


TOO_MANY_LINKS = _l("Several links were sent in the last 24 hours: check your inbox and spam "
                    "folder, or try again tomorrow.")


def resend_confirmation(user: User, client_address: str = "") -> bool:
    """"Send the link again", at most once per CONFIRMATION_RESEND_SECONDS and
    CONFIRMATION_MAX_PER_DAY times a day, and within the limits of mail sent on someone's
    behalf: the address is not yet proved to want our mail. Refused with ValidationFailed
    (nothing changed); False when the address has had its share of mail on others' behalf
    (the request is counted all the same, and committed; TOO_MANY_LINKS says why)."""
    if user.email_confirmed:
        raise ValidationFailed(str(_l("Your address is already confirmed.")))
    now = clock.now()
    wait = timedelta(seconds=current_app.config["CONFIRMATION_RESEND_SECONDS"])
    if user.confirmation_sent_at and now < user.confirmation_sent_at + wait:
        seconds = int((user.confirmation_sent_at + wait - now).total_seconds()) + 1
        raise ValidationFailed(str(_l("A link was sent a moment ago. Check your inbox (and "
                                      "spam folder), or ask again in %(n)d seconds.",
                                      n=seconds)))
    day_start = now - timedelta(days=1)
    sent_today = outbox.count_since(user.id, account_emails.CONFIRMATION, day_start)
    if sent_today >= current_app.config["CONFIRMATION_MAX_PER_DAY"]:
        raise ValidationFailed(str(TOO_MANY_LINKS))
    if mail_limits.allow(user.email, client_address):
        user.confirmation_sent_at = now
        _send(user, CONFIRM)
        db.session.commit()
        return True
    db.session.commit()  # the count, kept: a refusal is not a free retry
    return False


def confirm_email(token: str) -> User:
    user = user_for_token(token, CONFIRM)
    user.email_confirmed_at = clock.now()
    audit.record(user, "account.email_confirmed", "user", user.id, user.email)
    db.session.commit()
    log.info("User %s confirmed their address", user.id)
    return user


# Invitations and passwords --------------------------------------------------------------


def create_with_invitation(email: str, first_name: str, last_name: str,
                           roles: list[Role], locale: str | None = None,
                           actor: User | None = None) -> User:
    """An account whose owner chooses the password through an emailed link; commits."""
    user = create_user(email, first_name, last_name, None, roles, locale)
    _send(user, INVITE)
    audit.record(actor, "account.invited", "user", user.id, user.email)
    db.session.commit()
    return user


def _stand_in(email: str) -> User:
    """An account that does not exist, for doing the same work as for one that does."""
    user = User(email=(email or "").strip().lower()[:254], first_name="", last_name="",
                locale=None)
    user.password_hash = sign_in._dummy()
    return user


def _send_or_pretend(user: User | None, email: str, purpose: str, really: bool) -> None:
    """Queue the link email for `user` when `really`; otherwise do the same work (a token,
    the rendering, the row written) and take it back, so that the time an answer takes tells
    nothing of whether the address has an account."""
    if really:
        _send(user, purpose)
        return
    savepoint = db.session.begin_nested()
    _send(user if user is not None else _stand_in(email), purpose)
    db.session.flush()
    savepoint.rollback()


def request_password_reset(email: str, client_address: str = "") -> None:
    """Queue a reset link if the address has an active account, at most once per
    PASSWORD_RESET_RESEND_SECONDS and within the limits of mail sent on someone's behalf;
    says nothing either way (the caller answers the same), and takes the same work either
    way. Raises TooManyEmails when this client asked for too many. Commits."""
    allowed = mail_limits.allow(email, client_address)
    user = find_by_email(email or "")
    now = clock.now()
    wait = timedelta(seconds=current_app.config["PASSWORD_RESET_RESEND_SECONDS"])
    really = (allowed and user is not None and user.active
              and not (user.password_reset_sent_at and now < user.password_reset_sent_at + wait))
    if really:
        user.password_reset_sent_at = now
        audit.record(None, "account.password_reset_requested", "user", user.id, user.email)
    _send_or_pretend(user, email, RESET, really)
    db.session.commit()
    if not really:
        log.info("Password reset not sent (unknown or inactive address, asked again too soon, "
                 "or over the limit)")


def request_sign_in_link(email: str, client_address: str = "") -> None:
    """Queue a one-time sign-in link to the address if it has an active account: the way in
    that strangers' guesses cannot lock, since it only reaches the owner's inbox. Same limits,
    same answer and same work as "forgot your password?". Commits."""
    allowed = mail_limits.allow(email, client_address)
    user = find_by_email(email or "")
    really = allowed and user is not None and user.active
    if really:
        audit.record(None, "account.sign_in_link_requested", "user", user.id, user.email)
    _send_or_pretend(user, email, SIGN_IN, really)
    db.session.commit()


def sign_in_with_link(token: str, client_address: str = "") -> tuple[User, str]:
    """Follow a sign-in link: the account's password lock is lifted (its owner proved the
    address) and a session opens; the link dies. Returns the user and the session's token.
    Raises LinkProblem. Commits."""
    user = user_for_token(token, SIGN_IN)
    user.last_login_at = clock.now()
    if not user.email_confirmed:
        user.email_confirmed_at = clock.now()
    sign_in.clear_account(user.email)
    audit.record(user, "sign_in.succeeded_with_link", "user", user.id, f"from {client_address}")
    session_token = sessions.start(user, client_address)
    db.session.commit()
    return user, session_token


def set_password_from_link(token: str, purpose: str, password: str,
                           client_address: str = "") -> tuple[User, str]:
    """Choose a new password through a reset or invitation link: every session of the account
    ends, the link dies (the hash it is bound to changes), the address counts as confirmed
    (the link reached it), and a new session opens for this browser. Commits."""
    user = user_for_token(token, purpose)
    problems = password_problems(password, (user.email, user.first_name, user.last_name))
    if problems:
        raise ValidationFailed({"password": problems})
    user.set_password(password, hash_method())
    if not user.email_confirmed:
        user.email_confirmed_at = clock.now()
    ended = sessions.end_all(user)
    sign_in.clear_account(user.email)
    audit.record(user, "account.password_set" if purpose == INVITE else "account.password_reset",
                 "user", user.id, f"{ended} other session(s) ended")
    session_token = sessions.start(user, client_address)
    db.session.commit()
    return user, session_token


def change_password(user: User, current: str, new: str,
                    client_address: str = "") -> tuple[User, str]:
    """A signed-in person changes their password: the current one is required, every session
    of the account ends (copies of this browser's cookie included) and a new one opens here;
    returns the user and the new session's token. Commits."""
    user = db.session.get(User, user.id)
    errors: dict[str, list[str]] = {}
    problems = password_problems(new, (user.email, user.first_name, user.last_name))
    # The current password is checked behind the sign-in throttle: whoever finds a session
    # left open cannot guess it faster than they could at the sign-in page.
    try:
        right = sign_in.check_password(user, user.email, current, client_address)
    except sign_in.SignInBlocked as blocked:
        errors["current"] = blocked.errors["password"]
    else:
        if not right:
            errors["current"] = [str(_l("This is not your current password."))]
    user = db.session.get(User, user.id)
    if problems:
        errors["password"] = problems
    if errors:
        raise ValidationFailed(errors)
    user.set_password(new, hash_method())
    ended = sessions.end_all(user)
    audit.record(user, "account.password_changed", "user", user.id,
                 f"{ended} session(s) ended")
    token = sessions.start(user, client_address)
    db.session.commit()
    return user, token


def deactivate(actor: User | None, user: User) -> None:
    """The account can no longer sign in, and its open sessions end now."""
    user.active = False
    ended = sessions.end_all(user)
    audit.record(actor, "account.deactivated", "user", user.id,
                 f"{user.email}; {ended} session(s) ended")
    db.session.commit()
