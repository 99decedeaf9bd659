"""Small factories with sensible defaults (call inside an app context; they flush, not commit)."""

import itertools
from datetime import timedelta

from webapp.core import clock
from webapp.extensions import db
from webapp.models import (
    Application,
    Campaign,
    CampaignMember,
    EmailTemplate,
    EmailTemplateVersion,
    EventType,
    MemberRole,
    Role,
    Status,
    Trigger,
    User,
    UserRole,
)
from webapp.services.applications import new_reference
from webapp.services.statuses import by_code, ensure_default_statuses

PASSWORD = "correct horse 42"
# Werkzeug's scrypt at a 32nd of its default cost (32768): tests hash and check many passwords.
PASSWORD_HASH_METHOD = "scrypt:1024:8:1"
_counter = itertools.count(1)


def seed_statuses() -> None:
    ensure_default_statuses()
    db.session.commit()


def status(code: str) -> Status:
    return by_code(code)


_password_hash_cache: dict[str, str] = {}


def make_user(role: Role | str = Role.CANDIDATE, email: str | None = None,
              first_name: str = "Camille", last_name: str | None = None,
              locale: str | None = "en", active: bool = True, confirmed: bool = True) -> User:
    role = Role(role)
    n = next(_counter)
    user = User(email=(email or f"{role.value}@example.org").lower(), first_name=first_name,
                last_name=last_name or f"{role.value.title()}{n}", locale=locale, active=active,
                email_confirmed_at=clock.now() if confirmed else None)
    # Hashing is deliberately slow; tests reuse one hash for the shared password.
    if PASSWORD not in _password_hash_cache:
        user.set_password(PASSWORD, PASSWORD_HASH_METHOD)
        _password_hash_cache[PASSWORD] = user.password_hash
    user.password_hash = _password_hash_cache[PASSWORD]
    user.role_rows = [UserRole(role=role.value)]
    db.session.add(user)
    db.session.flush()
    return user


def make_campaign(label: str | None = None, opens_in_days: int = -1, closes_in_days: int = 30,
                  managers=(), evaluators=(), published: bool = True) -> Campaign:
    now = clock.now()
    campaign = Campaign(label=label or f"Campaign {next(_counter)}",
                        opens_at=now + timedelta(days=opens_in_days),
                        closes_at=now + timedelta(days=closes_in_days), published=published)
    campaign.members = [CampaignMember(user=u, role=MemberRole.MANAGER) for u in managers] + [
        CampaignMember(user=u, role=MemberRole.EVALUATOR) for u in evaluators
    ]
    db.session.add(campaign)
    db.session.flush()
    return campaign


def make_template(name: str | None = None, subject: str = "About {{ campaign_label }}",
                  body_html: str = "<p>Hello {{ recipient_name }}</p>",
                  versions: dict[str, tuple[str, str]] | None = None,
                  default_locale: str = "fr", **fields) -> EmailTemplate:
    template = EmailTemplate(name=name or f"Template {next(_counter)}",
                             default_locale=default_locale, **fields)
    versions = versions or {"fr": (subject, body_html), "en": (subject, body_html)}
    template.versions = [EmailTemplateVersion(locale=loc, subject=s, body_html=b)
                         for loc, (s, b) in versions.items()]
    db.session.add(template)
    db.session.flush()
    return template


def make_trigger(campaign: Campaign, template: EmailTemplate,
                 event: EventType = EventType.STATUS_CHANGED, to_status: str | None = "accepted",
                 from_status: str | None = None, **fields) -> Trigger:
    trigger = Trigger(
        campaign=campaign, template=template, event=event,
        to_status=status(to_status) if to_status and event == EventType.STATUS_CHANGED else None,
        from_status=status(from_status) if from_status else None, **fields,
    )
    db.session.add(trigger)
    db.session.flush()
    return trigger


def make_application(campaign: Campaign, candidate: User | None = None,
                     status_code: str = "draft", **fields) -> Application:
    application = Application(
        campaign=campaign, candidate=candidate or make_user(
            Role.CANDIDATE, email=f"candidate{next(_counter)}@example.org"),
        status=status(status_code), reference=new_reference(),
        title=fields.pop("title", "My project"),
        created_at=fields.pop("created_at", clock.now()),
        status_changed_at=fields.pop("status_changed_at", clock.now()), **fields,
    )
    if status_code != "draft":
        application.submitted_at = clock.now()
        application.confirmed = True
    db.session.add(application)
    db.session.flush()
    return application
