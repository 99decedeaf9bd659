"""The placeholders of user-written email templates: what each one reads, for one recipient,
and the example shown in previews and the editor's help."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from webapp.models import Application, Status, User
from webapp.services import branding


@dataclass
class RenderContext:
    """Everything a placeholder may read, for one recipient."""

    locale: str
    recipient_name: str
    recipient_email: str
    platform_name: str
    base_url: str
    today: date
    application: Application | None = None
    old_status: Status | None = None
    new_status: Status | None = None
    actor: User | None = None
    sample: dict[str, str] = field(default_factory=dict)  # preview values override resolvers
    # Values known only to the caller, such as an account email's link.
    given: dict[str, str] = field(default_factory=dict)
    timezone: str = "Europe/Paris"  # the platform's: dates are stored in UTC

    @property
    def secrets(self) -> list[str]:
        """The real values of the secret placeholders (never the preview's samples)."""
        return [self.given[name] for name in sorted(SECRET_NAMES) if self.given.get(name)]


def context_for(application: Application | None, recipient_name: str, recipient_email: str,
                locale: str, old_status: Status | None = None, new_status: Status | None = None,
                actor: User | None = None) -> RenderContext:
    """The render context of one recipient, with the platform's name, URL and today's date."""
    from flask import current_app

    from webapp.core import clock

    timezone = current_app.config["BABEL_DEFAULT_TIMEZONE"]
    today = clock.now().replace(tzinfo=UTC).astimezone(ZoneInfo(timezone)).date()
    return RenderContext(
        locale=locale, recipient_name=recipient_name, recipient_email=recipient_email,
        platform_name=branding.current().name,
        base_url=current_app.config["BASE_URL"], today=today,
        application=application, old_status=old_status, new_status=new_status, actor=actor,
        timezone=timezone,
    )


@dataclass(frozen=True)
class Placeholder:
    name: str
    description: str  # lazy translated
    # Shown in previews and the editor's help, in the reader's language: words are lazy
    # translated, dates formatted per locale; None: the real value (today, the platform).
    example: "str | date | None"
    resolve: Callable[[RenderContext], str]
    # A value that grants access (an account link): it may only reach the person it is for,
    # never an outside address (see secret_links).
    secret: bool = False


def _candidate(ctx: RenderContext) -> User:
    return ctx.application.candidate


def long_date(value: datetime | date | None, locale: str, timezone: str) -> str:
    """A date as emails write it ("31 mars 2027"); stored datetimes are naive UTC."""
    if not value:
        return ""
    if isinstance(value, datetime):
        value = value.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone))
    return format_date(value, format="long", locale=locale)


def _date(value: datetime | date | None, ctx: "RenderContext") -> str:
    return long_date(value, ctx.locale, ctx.timezone)


CATALOGUE: tuple[Placeholder, ...] = (
    Placeholder("recipient_name", _l("Name of the person receiving this email"),
                "Camille Martin", lambda c: c.recipient_name),
    Placeholder("candidate_first_name", _l("Candidate's first name"), "Camille",
                lambda c: _candidate(c).first_name),
    Placeholder("candidate_last_name", _l("Candidate's last name"), "Martin",
                lambda c: _candidate(c).last_name),
    Placeholder("candidate_name", _l("Candidate's full name"), "Camille Martin",
                lambda c: _candidate(c).name),
    Placeholder("candidate_email", _l("Candidate's email address"), "camille@example.org",
                lambda c: _candidate(c).email),
    Placeholder("campaign_label", _l("Name of the campaign"), _l("Research grants 2027"),
                lambda c: c.application.campaign.label),
    Placeholder("closing_date", _l("Closing date of the campaign"), date(2027, 3, 31),
                lambda c: _date(c.application.campaign.closes_at, c)),
    Placeholder("application_reference", _l("Reference number of the application"),
                "MIS-K3VQ7ZP2", lambda c: c.application.reference),
    Placeholder("old_status_label", _l("Status before the change"), _l("Submitted"),
                lambda c: c.old_status.label_for(c.locale) if c.old_status else ""),
    Placeholder("status_label", _l("New status of the application"), _l("Accepted"),
                lambda c: c.new_status.label_for(c.locale) if c.new_status
                else c.application.status.label_for(c.locale)),
    Placeholder("actor_name", _l("Person who made the change"), "Dominique Durand",
                lambda c: c.actor.name if c.actor else ""),
    Placeholder("application_url", _l("Link to the application"),
                "https://missive.example.org/my/applications/42",
                lambda c: f"{c.base_url.rstrip('/')}/my/applications/{c.application.id}"),
    Placeholder("platform_name", _l("Name of this platform"), None,
                lambda c: c.platform_name),
    Placeholder("today", _l("Today's date"), None,
                lambda c: _date(c.today, c)),
    Placeholder("action_url", _l("The link the person follows (confirm, choose a password)"),
                "https://missive.example.org/auth/confirm/…",
                lambda c: c.given.get("action_url", ""), secret=True),
    Placeholder("link_expiry", _l("How long the link stays valid"), _l("48 hours"),
                lambda c: c.given.get("link_expiry", "")),
)
PLACEHOLDERS = {p.name: p for p in CATALOGUE}
# The platform's account emails know a person and a link, not an application.
SYSTEM_NAMES = frozenset({"recipient_name", "platform_name", "today", "action_url",
                          "link_expiry"})
CAMPAIGN_NAMES = frozenset(PLACEHOLDERS) - {"action_url", "link_expiry"}
SECRET_NAMES = frozenset(p.name for p in CATALOGUE if p.secret)


def names_for(system: bool) -> frozenset[str]:
    """The placeholders a template may use: system (account) emails or campaign emails."""
    return SYSTEM_NAMES if system else CAMPAIGN_NAMES


def sample_values(locale: str) -> dict[str, str]:
    """The example value of each placeholder, as a reader of `locale` would see it."""
    ctx = context_for(None, "", "", locale)
    with force_locale(locale):
        return {p.name: (p.resolve(ctx) if p.example is None
                         else format_date(p.example, format="long", locale=locale)
                         if isinstance(p.example, date) else str(p.example))
                for p in CATALOGUE}


def help_items(names: frozenset[str] = CAMPAIGN_NAMES,
               locale: str = "en") -> list[tuple[str, str, str]]:
    """(name, description, example) for the editor's placeholder help, in `locale`."""
    samples = sample_values(locale)
    return [(p.name, str(p.description), samples[p.name]) for p in CATALOGUE if p.name in names]
