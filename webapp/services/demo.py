"""Demo data for `make run`: idempotent, so it can run at every start."""

from datetime import timedelta

import sqlalchemy as sa

from webapp.core import clock
from webapp.extensions import db
from webapp.models import Application, Campaign, Role, Status, StatusChange, User
from webapp.services.account_emails import ensure_system_templates
from webapp.services.applications import new_reference
from webapp.services.campaigns import create_campaign
from webapp.services.email_templates import default_acknowledgement_template
from webapp.services.statuses import ensure_default_statuses
from webapp.services.users import create_user, find_by_email

DEMO_USERS = [
    # email, first name, last name, role, locale, password
    ("admin@missive.example.org", "Alex", "Admin", Role.ADMIN, "en", "demo-admin-1"),
    ("manager@missive.example.org", "Morgan", "Manager", Role.MANAGER, "fr", "demo-manager-1"),
    ("evaluator@missive.example.org", "Eden", "Evaluator", Role.EVALUATOR, "fr",
     "demo-evaluator-1"),
    ("camille@example.org", "Camille", "Martin", Role.CANDIDATE, "fr", "demo-candidate-1"),
    ("sam@example.org", "Sam", "Taylor", Role.CANDIDATE, "en", "demo-candidate-2"),
]


def seed_demo() -> list[tuple[str, str, str]]:
    """Create what is missing of the demo platform; return (email, role, password) sign-ins."""
    ensure_default_statuses()
    default_acknowledgement_template()
    ensure_system_templates()
    users = {}
    for email, first, last, role, locale, password in DEMO_USERS:
        users[role] = find_by_email(email) or create_user(
            email, first, last, password, [role], locale, check_strength=False,
            confirmed=True,
        )
    db.session.commit()

    now = clock.now()
    open_campaign = _campaign("Research grants 2027", now - timedelta(days=10),
                              now + timedelta(days=60), users)
    _campaign("Summer fellowships 2026", now - timedelta(days=200), now - timedelta(days=30),
              users)
    if not db.session.scalar(sa.select(sa.func.count(Application.id))):
        _demo_applications(open_campaign, users, now)
    db.session.commit()
    return [(email, role.value, password) for email, _f, _l, role, _loc, password in DEMO_USERS]


def _campaign(label, opens_at, closes_at, users) -> Campaign:
    existing = db.session.scalar(sa.select(Campaign).where(Campaign.label == label))
    if existing:
        return existing
    return create_campaign(
        users[Role.ADMIN], label, opens_at, closes_at,
        description=f"Demo campaign: {label}.", published=True,
        managers=[users[Role.MANAGER]], evaluators=[users[Role.EVALUATOR]],
    )


def _demo_applications(campaign: Campaign, users: dict[Role, User], now) -> None:
    statuses = {s.code: s for s in db.session.scalars(sa.select(Status))}
    candidates = list(db.session.scalars(
        sa.select(User).where(User.email.in_(["camille@example.org", "sam@example.org"]))
    ))
    plans = [("submitted", "under_review"), ("draft",)]
    for candidate, path in zip(candidates, plans, strict=True):
        application = Application(
            campaign=campaign, candidate=candidate, status=statuses[path[0]],
            reference=new_reference(), title=f"Project by {candidate.first_name}",
            summary="A short summary of the project.", motivation="Why this project matters.",
            confirmed=path[0] != "draft",
        )
        db.session.add(application)
        previous = statuses["draft"]
        for code in path:
            if code == "draft":
                continue
            if code == "submitted":
                application.submitted_at = now
            application.history.append(StatusChange(
                from_status=previous, to_status=statuses[code],
                changed_by=candidate if code == "submitted" else users[Role.MANAGER],
            ))
            application.status = previous = statuses[code]
