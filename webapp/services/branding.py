"""The look every email shares: a header with the platform's name (and its logo, when an
administrator chose one), the message, a footer with the platform's postal address and why the
recipient gets this email. The message written by a manager is data inside this fixed layout,
never part of the layout's template. Styles are inline: mail clients ignore style sheets."""

import hashlib
from contextlib import nullcontext
from dataclasses import dataclass

import jinja2
from flask import current_app, has_app_context
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from webapp.core import audit, clock
from webapp.core.errors import ValidationFailed
from webapp.extensions import db
from webapp.models import Branding, User

NAME_MAX = 100
ADDRESS_MAX = 500
LOGO_MAX_BYTES = 200 * 1024
# Image types known by their first bytes (never by the name or type the browser sent).
LOGO_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg",
              b"GIF87a": "image/gif", b"GIF89a": "image/gif"}


@dataclass(frozen=True)
class Brand:
    name: str
    address: str
    logo_url: str | None


_BRAND = "missive.brand"  # where current() keeps the brand in the session's `info`


def _row() -> Branding | None:
    return db.session.get(Branding, 1)


def current() -> Brand:
    """The platform's brand now (the configured name until an administrator sets one), read
    once per database session (a request, a job run): every email of a bulk change shows it,
    twice, and a brand not set yet is not remembered by the session's identity map, so each
    would ask the database again."""
    brand = db.session.info.get(_BRAND)
    if brand is None:
        row = _row()
        name = (row.platform_name if row else "") or current_app.config["PLATFORM_NAME"]
        logo_url = None
        if row is not None and row.logo:
            logo_url = (f"{current_app.config['BASE_URL'].rstrip('/')}/brand/logo/"
                        f"{row.logo_hash}")
        brand = Brand(name=name, address=row.postal_address if row else "", logo_url=logo_url)
        db.session.info[_BRAND] = brand
    return brand


def logo(digest: str) -> tuple[bytes, str] | None:
    """The logo's bytes and type, if `digest` names the current one."""
    row = _row()
    if row is None or not row.logo or row.logo_hash != digest:
        return None
    return row.logo, row.logo_type


def _logo_type(data: bytes) -> str | None:
    return next((kind for magic, kind in LOGO_TYPES.items() if data.startswith(magic)), None)


def save(actor: User, name: str, address: str, logo_bytes: bytes | None = None,
         remove_logo: bool = False) -> Branding:
    """Set the brand (an administrator's action, audited). A logo is a PNG, JPEG or GIF of at
    most 200 KB."""
    name, address = " ".join((name or "").split()), (address or "").strip()
    errors: dict[str, list[str]] = {}
    if len(name) > NAME_MAX:
        errors["platform_name"] = [str(_l("At most %(max)d characters.", max=NAME_MAX))]
    if len(address) > ADDRESS_MAX:
        errors["postal_address"] = [str(_l("At most %(max)d characters.", max=ADDRESS_MAX))]
    kind = None
    if logo_bytes:
        kind = _logo_type(logo_bytes)
        if kind is None:
            errors["logo"] = [str(_l("The logo must be a PNG, JPEG or GIF image."))]
        elif len(logo_bytes) > LOGO_MAX_BYTES:
            errors["logo"] = [str(_l("The logo must weigh at most %(kb)d KB.",
                                     kb=LOGO_MAX_BYTES // 1024))]
    if errors:
        raise ValidationFailed(errors)
    row = _row()
    if row is None:
        row = Branding(id=1, platform_name="", postal_address="", logo_type="", logo_hash="")
        db.session.add(row)
    changed = []
    if row.platform_name != name:
        changed.append("name")
    if row.postal_address != address:
        changed.append("address")
    row.platform_name, row.postal_address = name, address
    if logo_bytes and kind:
        row.logo, row.logo_type = logo_bytes, kind
        row.logo_hash = hashlib.sha256(logo_bytes).hexdigest()[:32]
        changed.append("logo")
    elif remove_logo and row.logo:
        row.logo, row.logo_type, row.logo_hash = None, "", ""
        changed.append("logo removed")
    row.updated_at = clock.now()
    entry = audit.record(actor, "branding.updated", "branding", 1, ", ".join(changed))
    entry.details = {"changed": changed}
    db.session.commit()
    db.session.info.pop(_BRAND, None)
    return row


# --- The layout ------------------------------------------------------------------------------

FONT = "Arial, Helvetica, sans-serif"
_TABLE = ('role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0"'
          ' style="border-collapse: collapse;')
_CELL = "font-family: {{ font }}; color: #1f2933;"
_LAYOUT = jinja2.Environment(autoescape=True).from_string(
    '<div style="margin: 0; padding: 0; background-color: #f4f5f7; font-family: {{ font }};">'
    f'<table {_TABLE} background-color: #f4f5f7;">'
    '<tr><td align="center" style="padding: 16px 8px;">'
    f'<table {_TABLE} max-width: 600px; background-color: #ffffff;">'
    f'<tr><td style="padding: 16px 24px; border-bottom: 1px solid #dde1e6; {_CELL}'
    ' font-size: 18px; font-weight: bold;">'
    '{% if logo_url %}<img src="{{ logo_url }}" alt="{{ name }}" height="40"'
    ' style="vertical-align: middle; margin-right: 8px;"> {% endif %}{{ name }}</td></tr>'
    f'<tr><td style="padding: 24px; {_CELL} font-size: 15px; line-height: 1.5;">'
    '{{ body }}</td></tr>'
    '<tr><td style="padding: 16px 24px; border-top: 1px solid #dde1e6;'
    ' font-family: {{ font }}; font-size: 12px; line-height: 1.5; color: #52606d;">'
    '<p style="margin: 0 0 4px 0;">{{ why }}</p>'
    '{% if address %}<p style="margin: 0;">{{ name }} · {{ address }}</p>{% endif %}'
    '</td></tr></table></td></tr></table></div>')


def why(ctx) -> str:
    """Why the recipient gets this email, in their language."""
    sample = getattr(ctx, "sample", {}) or {}
    application = ctx.application
    with force_locale(ctx.locale) if has_app_context() else nullcontext():
        if application is None and not sample.get("application_reference"):
            return str(_l("You receive this email because an account on %(platform)s uses "
                          "this address.", platform=ctx.platform_name))
        if application is None:
            reference, campaign, mine = (sample.get("application_reference", ""),
                                         sample.get("campaign_label", ""), True)
        else:
            candidate = application.candidate
            reference, campaign = application.reference, application.campaign.label
            mine = candidate is not None and (candidate.email or "").lower() == (
                ctx.recipient_email or "").lower()
        if mine:
            return str(_l("You receive this email about your application %(reference)s to "
                          "%(campaign)s on %(platform)s.", reference=reference,
                          campaign=campaign, platform=ctx.platform_name))
        return str(_l("You receive this email because you take part in the campaign "
                      "%(campaign)s on %(platform)s.", campaign=campaign,
                      platform=ctx.platform_name))


def wrap(html: str, text: str, ctx, brand: Brand | None = None) -> tuple[str, str]:
    """The message (already rendered and cleaned) inside the layout; the text part with the
    footer."""
    if brand is None:  # outside the app (a unit test of the templates): the context's name
        brand = current() if has_app_context() else Brand(ctx.platform_name, "", None)
    reason = why(ctx)
    wrapped = _LAYOUT.render(font=FONT, name=brand.name, logo_url=brand.logo_url,
                             body=Markup(html), why=reason,
                             address=" · ".join(brand.address.splitlines()))
    footer = ["", "-- ", reason]
    if brand.address:
        footer += [brand.name, brand.address]
    return wrapped, text.rstrip() + "\n" + "\n".join(footer) + "\n"
