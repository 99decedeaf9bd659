"""Small factories with sensible defaults (call inside an app context; they flush, not commit)."""

import itertools
from datetime import timedelta

import sqlalchemy as sa

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
    user = _new_user(role, email, first_name, last_name, locale, active, confirmed)
    db.session.add(user)
    db.session.flush()
    return user


def _new_user(role: Role | str = Role.CANDIDATE, email: str | None = None,
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
    application = _new_application(campaign, candidate or make_user(
        Role.CANDIDATE, email=f"candidate{next(_counter)}@example.org"), status_code, **fields)
    db.session.add(application)
    db.session.flush()
    return application


def make_applications(campaign: Campaign, count: int, email_prefix: str = "candidate",
                      status_code: str = "draft") -> int:
    """`count` applications, each by a new candidate <email_prefix><i>@example.org, as
    make_user and make_application would write them, in a few statements."""
    template = _new_user(Role.CANDIDATE)
    emails = [f"{email_prefix}{i}@example.org".lower() for i in range(count)]
    db.session.execute(sa.insert(User), [
        dict(email=email, first_name=template.first_name, last_name=f"Candidate{i}",
             locale=template.locale, active=True, password_hash=template.password_hash,
             email_confirmed_at=template.email_confirmed_at) for i, email in enumerate(emails)])
    ids = dict(db.session.execute(sa.select(User.email, User.id)
                                  .where(User.email.in_(emails))).all())
    db.session.execute(sa.insert(UserRole), [
        dict(user_id=ids[email], role=Role.CANDIDATE.value) for email in emails])
    now, submitted = clock.now(), status_code != "draft"
    db.session.execute(sa.insert(Application), [
        dict(campaign_id=campaign.id, candidate_id=ids[email], status_id=status(status_code).id,
             reference=new_reference(), title="My project", created_at=now,
             status_changed_at=now, submitted_at=now if submitted else None,
             confirmed=submitted) for email in emails])
    return count


def _new_application(campaign: Campaign, candidate: User, status_code: str,
                     **fields) -> Application:
    application = Application(
        campaign=campaign, candidate=candidate,
        status=status(status_code), reference=new_reference(),
        title=fields.pop("title", "My project"),
        created_at=fields.pop("created_at", clock.now()),
        status_changed_at=fields.pop("status_changed_at", clock.now()), **fields,
    )
    if status_code != "draft":
        application.submitted_at = clock.now()
        application.confirmed = True
    return application
