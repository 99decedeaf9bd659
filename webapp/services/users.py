"""Accounts: sign-up, sign-in, roles."""

import functools
import logging
import re
import secrets
import unicodedata
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from zxcvbn import zxcvbn

from webapp.core import clock
from webapp.core.addresses import InvalidAddress, normalize_email
from webapp.core.errors import ValidationFailed
from webapp.extensions import db
from webapp.models import Role, User, UserRole

log = logging.getLogger("missive.users")

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256  # hashing a megabyte would be a denial of service


def hash_method() -> str:
    """How new passwords are hashed: werkzeug's method and cost, PASSWORD_HASH_METHOD."""
    return current_app.config["PASSWORD_HASH_METHOD"]


def find_by_email(email: str) -> User | None:
    email = (email or "").strip().lower()
    if not email or len(email) > 254 or any(ord(c) < 0x20 for c in email):
        return None  # no account has such an address (and PostgreSQL refuses NUL)
    return db.session.scalar(sa.select(User).where(User.email == email))


PASSWORD_LISTS = Path(__file__).parent / "passwords"


@functools.cache
def _common_passwords() -> frozenset[str]:
    """The French and English lists of common passwords that zxcvbn misses."""
    words: set[str] = set()
    for path in sorted(PASSWORD_LISTS.glob("*.txt")):
        words.update(line.strip() for line in path.read_text(encoding="utf-8").splitlines()
                     if line.strip())
    return frozenset(words)


def _letters(text: str) -> str:
    """Lowercase letters and digits only, accents dropped: "Mot de passe !" → "motdepasse"."""
    decomposed = unicodedata.normalize("NFKD", (text or "").lower())
    return "".join(c for c in decomposed if c.isascii() and c.isalnum())


def _core(text: str) -> str:
    """Without the digits people add before or after a word: "Soleil2024!" → "soleil"."""
    return re.sub(r"^\d+|\d+$", "", _letters(text))


def _is_guessable(password: str, user_inputs: tuple[str, ...]) -> bool:
    """A common password (in any case, spacing or accents, with digits before or after), or
    the person's own names with at most a few other characters ("Camille2024",
    "lopez.camille!")."""
    common = _common_passwords()
    if _letters(password) in common or _core(password) in common:
        return True
    rest = _letters(password)
    names = set()
    for given in user_inputs:
        names.update(part for part in re.split(r"[^a-z0-9]+", _letters_keep_separators(given))
                     if len(part) >= 3)
    found = False
    for name in sorted(names, key=len, reverse=True):
        if name in rest:
            rest, found = rest.replace(name, ""), True
    return found and len(re.sub(r"\d", "", rest)) < 4


def _letters_keep_separators(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", (text or "").lower())
    return "".join(c for c in decomposed if c.isascii())


def password_problems(password: str, user_inputs: tuple[str, ...] = ()) -> list[str]:
    """Why a password is refused, in words a user can act on. In the spirit of NIST SP 800-63B:
    a minimum length and no composition rules, but no password that attackers try first: zxcvbn
    matches it against its lists of common passwords, words and names (with keyboard patterns,
    repeats, dates and substitutions), and against the person's own name and address; our
    French and English lists add what it misses ("mot de passe"), and the person's names with
    a suffix ("Camille2024") are refused however long."""
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        return [str(_l("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH))]
    if len(password) > MAX_PASSWORD_LENGTH:
        return [str(_l("Use at most %(n)d characters.", n=MAX_PASSWORD_LENGTH))]
    # zxcvbn's cost grows with length; the first 100 characters decide.
    result = zxcvbn(password[:100], user_inputs=[i for i in user_inputs if i])
    if result["score"] < current_app.config["PASSWORD_MIN_SCORE"] or _is_guessable(
            password[:100], user_inputs):
        return [str(_l("This password is among the first that attackers try (a common "
                       "password, word, name or pattern). Add a few unrelated words."))]
    return []


def create_user(
    email: str,
    first_name: str,
    last_name: str,
    password: str | None,
    roles: set[Role] | list[Role],
    locale: str | None = None,
    check_strength: bool = True,
    confirmed: bool = False,
) -> User:
    """Add a user to the session (the caller commits); refuses duplicates and weak passwords.
    Without a password, the account gets one nobody knows: its owner chooses one through an
    invitation link. `confirmed`: the address is vouched for (an admin, the demo)."""
    errors: dict[str, list[str]] = {}
    try:
        email = normalize_email(email)
    except InvalidAddress:
        errors["email"] = [str(_l("Enter a valid email address."))]
    else:
        if find_by_email(email):
            errors["email"] = [str(_l("An account with this email already exists."))]
    if password is not None and check_strength and (
            problems := password_problems(password, (email, first_name, last_name))):
        errors["password"] = problems
    if errors:
        raise ValidationFailed(errors)
    user = User(email=email, first_name=first_name.strip(), last_name=last_name.strip(),
                locale=locale)
    user.set_password(password if password is not None else secrets.token_urlsafe(32),
                      hash_method())
    if confirmed:
        user.email_confirmed_at = clock.now()
    user.role_rows = [UserRole(role=Role(role).value) for role in roles]
    db.session.add(user)
    db.session.flush()
    log.info("User %s created with roles %s", user.email, sorted(user.roles))
    return user




def set_locale(user: User, locale: str) -> None:
    user.locale = locale
    db.session.commit()
