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


def notice_for(address: str) -> str | None:
    """What to say on screen when an urgent email (a confirmation or reset link) was just
    queued to an address that is suppressed: it will not arrive. Said for any suppressed
    address, account or not, so it tells nothing about accounts."""
    try:
        reason = outbox.suppressed_reason(normalize_email(address))
    except InvalidAddress:
        return None
    if reason is None:
        return None
    return str(_l("Emails to %(email)s cannot be delivered (%(reason)s): this one will not "
                  "arrive either. Contact the platform's team to have the address checked, or "
                  "use another one.", email=address, reason=reason))


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
