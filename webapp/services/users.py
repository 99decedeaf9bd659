"""Accounts: sign-up, sign-in, roles."""

import logging

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from webapp.core import clock
from webapp.core.addresses import InvalidAddress, normalize_email
from webapp.core.errors import ValidationFailed
from webapp.extensions import db
from webapp.models import Role, User, UserRole

log = logging.getLogger("missive.users")

MIN_PASSWORD_LENGTH = 10


def find_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == (email or "").strip().lower()))


def password_problems(password: str) -> list[str]:
    """Why a password is too weak, in words a user can act on."""
    problems = []
    if len(password or "") < MIN_PASSWORD_LENGTH:
        problems.append(_l("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH))
    elif password.isalpha() or password.isdigit():
        problems.append(_l("Mix letters with digits or symbols."))
    return [str(p) for p in problems]


def create_user(
    email: str,
    first_name: str,
    last_name: str,
    password: str,
    roles: set[Role] | list[Role],
    locale: str | None = None,
    check_strength: bool = True,
) -> User:
    """Add a user to the session (the caller commits); refuses duplicates and weak passwords."""
    errors: dict[str, list[str]] = {}
    try:
        email = normalize_email(email)
    except InvalidAddress:
        errors["email"] = [str(_l("Enter a valid email address."))]
    else:
        if find_by_email(email):
            errors["email"] = [str(_l("An account with this email already exists."))]
    if check_strength and (problems := password_problems(password)):
        errors["password"] = problems
    if errors:
        raise ValidationFailed(errors)
    user = User(email=email, first_name=first_name.strip(), last_name=last_name.strip(),
                locale=locale)
    user.set_password(password)
    user.role_rows = [UserRole(role=Role(role).value) for role in roles]
    db.session.add(user)
    db.session.flush()
    log.info("User %s created with roles %s", user.email, sorted(user.roles))
    return user


def sign_up_candidate(email: str, first_name: str, last_name: str, password: str,
                      locale: str | None) -> User:
    """A candidate creates their own account."""
    user = create_user(email, first_name, last_name, password, [Role.CANDIDATE], locale)
    db.session.commit()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None (same answer for unknown and wrong)."""
    user = find_by_email(email)
    if user is None or not user.active or not user.check_password(password):
        return None
    user.last_login_at = clock.now()
    db.session.commit()
    return user


def set_locale(user: User, locale: str) -> None:
    user.locale = locale
    db.session.commit()
