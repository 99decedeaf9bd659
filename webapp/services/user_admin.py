"""The administrators' Users screen: find accounts, invite people, change their roles,
deactivate and reactivate them. Every change is audited; the checks that keep the platform
administrable (an administrator keeps their own role and account) are made here."""

import logging

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from webapp.core import audit
from webapp.core.addresses import InvalidAddress, normalize_email
from webapp.core.errors import NotFound, ValidationFailed
from webapp.core.paging import Page, offset_page
from webapp.extensions import db
from webapp.models import Role, User, UserRole
from webapp.services import accounts, sessions

log = logging.getLogger("missive.users")

PAGE_SIZE = 50
MAX_SEARCH = 100


def search(text: str = "", role: str = "", number: int = 1, size: int = PAGE_SIZE) -> Page:
    """Page `number` of the accounts whose name or address contains `text` (and holding
    `role`, if given), by last name, with how many match in all."""
    query = sa.select(User)
    text = (text or "").strip()[:MAX_SEARCH]
    if text:
        query = query.where(sa.or_(
            User.email.icontains(text, autoescape=True),
            (User.first_name + " " + User.last_name).icontains(text, autoescape=True),
            (User.last_name + " " + User.first_name).icontains(text, autoescape=True)))
    if role in {r.value for r in Role}:
        query = query.where(User.id.in_(sa.select(UserRole.user_id).where(UserRole.role == role)))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    return offset_page(db.session, query.order_by(sa.func.lower(User.last_name),
                                                  sa.func.lower(User.first_name), User.id),
                       number, size, total=total)


def get(user_id: int) -> User:
    """The account: NotFound if there is none (who may see it is the views' role check)."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    return user


def _roles(codes) -> set[Role]:
    roles = {Role(code) for code in codes or () if code in {r.value for r in Role}}
    if not roles:
        raise ValidationFailed({"roles": [str(_l("Choose at least one role."))]})
    return roles


def invite(actor: User, email: str, first_name: str, last_name: str, roles,
           locale: str | None) -> User:
    """Create the account and email its owner a link to choose a password; commits."""
    errors = {}
    try:
        normalize_email(email)
    except InvalidAddress:
        errors["email"] = [str(_l("Enter a valid email address."))]
    if not (first_name or "").strip():
        errors["first_name"] = [str(_l("This field is required."))]
    if not (last_name or "").strip():
        errors["last_name"] = [str(_l("This field is required."))]
    try:
        chosen = _roles(roles)
    except ValidationFailed as error:
        errors.update(error.errors)
    if errors:
        raise ValidationFailed(errors)
    user = accounts.create_with_invitation(email, first_name, last_name, sorted(chosen),
                                           locale, actor=actor)
    log.info("User %s invited by %s", user.email, actor.email)
    return user


def set_roles(actor: User, user: User, codes) -> User:
    """Give `user` exactly these roles. An administrator cannot take their own role away: the
    platform would risk having none."""
    roles = _roles(codes)
    if user.id == actor.id and Role.ADMIN not in roles:
        raise ValidationFailed({"roles": [str(_l(
            "You cannot remove your own administrator role: ask another administrator."))]})
    before = sorted(r.value for r in user.roles)
    after = sorted(r.value for r in roles)
    if before == after:
        return user
    user.role_rows = [row for row in user.role_rows if Role(row.role) in roles] + [
        UserRole(role=role.value) for role in roles - user.roles]
    audit.record(actor, "account.roles_changed", "user", user.id,
                 f"{user.email}: {', '.join(before)} ⇒ {', '.join(after)}")
    db.session.commit()
    log.info("Roles of %s set to %s by %s", user.email, after, actor.email)
    return user


def deactivate(actor: User, user: User) -> int:
    """The account can no longer sign in; its open sessions end now. Returns how many."""
    if user.id == actor.id:
        raise ValidationFailed({"": [str(_l("You cannot deactivate your own account."))]})
    if not user.active:
        return 0
    ended = sessions.count(user)
    accounts.deactivate(actor, user)
    log.info("User %s deactivated by %s", user.email, actor.email)
    return ended


def reactivate(actor: User, user: User) -> None:
    """The account may sign in again (with its old password)."""
    if user.active:
        return
    user.active = True
    audit.record(actor, "account.reactivated", "user", user.id, user.email)
    db.session.commit()
    log.info("User %s reactivated by %s", user.email, actor.email)


def history(user: User, limit: int = 20):
    return audit.history("user", user.id, limit=limit)
