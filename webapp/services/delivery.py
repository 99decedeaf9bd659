"""What people see of delivery after the relay: whether their address is suppressed, and
correcting it."""

from flask_babel import lazy_gettext as _l

from webapp import outbox
from webapp.core import audit
from webapp.core.addresses import InvalidAddress
from webapp.core.errors import ValidationFailed
from webapp.extensions import db
from webapp.models import User
from webapp.services.users import find_by_email, normalize_email


def unreachable(user: User) -> str | None:
    """Why mail to this person's address does not go (bounced, complained), if it does not."""
    return outbox.suppressed_reason(user.email)


def correct_address(user: User, new_email: str) -> int:
    """The person gives a working address: it becomes theirs, and the emails suppressed for
    the old one are queued again to it; commits. Returns how many were queued."""
    try:
        email = normalize_email(new_email)
    except InvalidAddress:
        raise ValidationFailed(str(_l("Enter a valid email address.")), field="email") from None
    if email == user.email:
        raise ValidationFailed(str(_l("This is the address that could not be reached.")),
                               field="email")
    if find_by_email(email):
        raise ValidationFailed(str(_l("An account with this email already exists.")),
                               field="email")
    if outbox.suppressed_reason(email):
        raise ValidationFailed(str(_l("This address could not be reached either.")),
                               field="email")
    old = user.email
    user.email = email
    queued = outbox.requeue_for(user.id, old, email)
    audit.record(user, "account.address_corrected", "user", user.id,
                 f"{old} -> {email}: {queued} emails queued again")
    db.session.commit()
    return queued
