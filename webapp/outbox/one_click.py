"""One-click unsubscribe (RFC 8058) for mail that is not transactional.

Reminders ("relances") are not transactional; acknowledgements, decisions (status changes),
account emails and tests are, and carry no unsubscribe. A non-transactional row gets
`List-Unsubscribe` (an https link to the platform, plus a mailto to the bounce mailbox when
BOUNCE_ADDRESS is set, added at send time since it names the row) and
`List-Unsubscribe-Post: List-Unsubscribe=One-Click`. The link's token is the address, signed
with the app's secret: it needs no session and no database row to check.
"""

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

NON_TRANSACTIONAL_EVENTS = frozenset({"reminder"})
_SALT = "missive.unsubscribe"


def is_transactional(event_type: str) -> bool:
    return event_type not in NON_TRANSACTIONAL_EVENTS


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(str(current_app.config["SECRET_KEY"]), salt=_SALT)


def token_for(address: str) -> str:
    return _serializer().dumps(address.lower())


def address_of(token: str) -> str | None:
    """The address a token was made for, or None if it was not made here."""
    try:
        address = _serializer().loads(token)
    except BadSignature:
        return None
    return address if isinstance(address, str) else None


def headers_for(address: str) -> dict:
    """The unsubscribe headers of a non-transactional row."""
    url = f"{current_app.config['BASE_URL'].rstrip('/')}/unsubscribe/{token_for(address)}"
    return {"List-Unsubscribe": f"<{url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def mailto(bounce_address: str, reference: str) -> str:
    """The mailto form: the bounce mailbox, the row's reference in the address."""
    local, _, domain = bounce_address.rpartition("@")
    return f"<mailto:{local}+unsubscribe-{reference}@{domain}?subject=unsubscribe>"
