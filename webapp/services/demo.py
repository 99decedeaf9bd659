"""Demo data for `make run`: idempotent, so it can run at every start."""

from datetime import timedelta

import sqlalchemy as sa

from webapp.core import clock
from webapp.extensions import db
from webapp.models import (
    Application,
    Campaign,
    DocumentKind,
    EmailTemplate,
    EmailTemplateAttachment,
    EmailTemplateVersion,
    EventType,
    LetterTemplate,
    RequestedDocument,
    Role,
    Status,
    StatusChange,
    Trigger,
    User,
)
from webapp.services.account_emails import ensure_system_templates
from webapp.services.applications import new_reference
from webapp.services.campaigns import create_campaign
from webapp.services.email_templates import default_acknowledgement_template, find_by_name
from webapp.services.statuses import ensure_default_statuses
from webapp.services.users import create_user, find_by_email

DEMO_USERS = [
    # email, first name, last name, role, locale, password
    ("admin@missive.example.org", "Alex", "Dupont", Role.ADMIN, "en", "demo-admin-1"),
    ("manager@missive.example.org", "Morgan", "Lemaire", Role.MANAGER, "fr", "demo-manager-1"),
    ("evaluator@missive.example.org", "Eden", "Roux", Role.EVALUATOR, "fr",
     "demo-evaluator-1"),
    ("camille@example.org", "Camille", "Martin", Role.CANDIDATE, "fr", "demo-candidate-1"),
    ("sam@example.org", "Sam", "Taylor", Role.CANDIDATE, "en", "demo-candidate-2"),
]

# The platform speaks French first: the demo's content is French, with an English version of
# each email for the English-speaking demo accounts.
DECISION_TEMPLATE = "Décision"
DECISION = {
    "fr": ("Décision sur votre candidature : {{ status_label }}",
           "<p>Bonjour {{ recipient_name }},</p>"
           "<p>Votre candidature <strong>{{ application_reference }}</strong> à la campagne "
           "« {{ campaign_label }} » a désormais le statut <strong>{{ status_label }}</strong>."
           "</p><p>Le détail est dans <a href=\"{{ application_url }}\">votre dossier</a>.</p>"
           "<p>L'équipe {{ platform_name }}</p>"),
    "en": ("Decision on your application: {{ status_label }}",
           "<p>Hello {{ recipient_name }},</p>"
           "<p>Your application <strong>{{ application_reference }}</strong> to "
           "“{{ campaign_label }}” now has the status <strong>{{ status_label }}</strong>.</p>"
           "<p>The details are in <a href=\"{{ application_url }}\">your application</a>.</p>"
           "<p>The {{ platform_name }} team</p>"),
}
DECISION_STATUSES = ("accepted", "rejected")


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
    open_campaign = _campaign("Bourses de recherche 2027", now - timedelta(days=10),
                              now + timedelta(days=60), users)
    _campaign("Résidences d'été 2026", now - timedelta(days=200), now - timedelta(days=30),
              users)
    if not db.session.scalar(sa.select(sa.func.count(Application.id))):
        _demo_applications(open_campaign, users, now)
    _demo_documents(open_campaign)
    _acceptance_letter()
    db.session.commit()
    return [(email, role.value, password) for email, _f, _l, role, _loc, password in DEMO_USERS]


def _campaign(label, opens_at, closes_at, users) -> Campaign:
    existing = db.session.scalar(sa.select(Campaign).where(Campaign.label == label))
    if existing:
        return existing
    campaign = create_campaign(
        users[Role.ADMIN], label, opens_at, closes_at,
        description=f"Campagne de démonstration : {label}.", published=True,
        managers=[users[Role.MANAGER]], evaluators=[users[Role.EVALUATOR]],
    )
    template = _decision_template()
    accepted = _accepted_template()
    for code in DECISION_STATUSES:
        status = db.session.scalar(sa.select(Status).where(Status.code == code))
        db.session.add(Trigger(campaign_id=campaign.id, event=EventType.STATUS_CHANGED,
                               to_status_id=status.id,
                               template_id=(accepted if code == "accepted" else template).id,
                               to_candidate=True, active=True))
    db.session.commit()
    return campaign


def _demo_documents(campaign: Campaign) -> None:
    """The open call asks for a CV (PDF, required) and a budget (PDF or spreadsheet)."""
    if db.session.scalar(sa.select(sa.func.count(RequestedDocument.id)).where(
            RequestedDocument.campaign_id == campaign.id)):
        return
    db.session.add_all([
        RequestedDocument(campaign_id=campaign.id, name_fr="CV", name_en="CV", required=True,
                          kinds=DocumentKind.PDF.value, max_size_mb=5, position=1),
        RequestedDocument(campaign_id=campaign.id, name_fr="Budget prévisionnel",
                          name_en="Budget", required=False,
                          kinds=f"{DocumentKind.PDF.value},{DocumentKind.SPREADSHEET.value}",
                          max_size_mb=10, position=2),
    ])


ACCEPTANCE_LETTER = "Lettre d'acceptation"


def _acceptance_letter() -> LetterTemplate:
    letter = db.session.scalar(sa.select(LetterTemplate).where(
        LetterTemplate.name == ACCEPTANCE_LETTER))
    if letter is None:
        letter = LetterTemplate(
            name=ACCEPTANCE_LETTER, default_locale="fr",
            title_fr="Objet : acceptation de votre dossier {{ application_reference }}",
            body_fr="<p>Madame, Monsieur {{ candidate_name }},</p><p>Nous avons le plaisir de "
                    "vous annoncer que votre dossier <strong>{{ application_reference }}"
                    "</strong> pour « {{ campaign_label }} » a été retenu.</p><p>Veuillez "
                    "agréer nos salutations distinguées.</p>",
            title_en="Subject: your application {{ application_reference }} is accepted",
            body_en="<p>Dear {{ candidate_name }},</p><p>We are pleased to tell you that "
                    "your application <strong>{{ application_reference }}</strong> to "
                    "“{{ campaign_label }}” was accepted.</p><p>Yours sincerely,</p>")
        db.session.add(letter)
        db.session.flush()
    return letter


ACCEPTED_TEMPLATE = "Accepté"


def _accepted_template() -> EmailTemplate:
    """The decision email, for acceptances: it attaches the acceptance letter."""
    template = find_by_name(ACCEPTED_TEMPLATE)
    if template is None:
        template = _new_decision_template(ACCEPTED_TEMPLATE)
        db.session.add(EmailTemplateAttachment(template_id=template.id,
                                               letter_template_id=_acceptance_letter().id))
    return template


def _decision_template() -> EmailTemplate:
    template = find_by_name(DECISION_TEMPLATE)
    if template is None:
        template = _new_decision_template(DECISION_TEMPLATE)
    return template


def _new_decision_template(name: str) -> EmailTemplate:
    """A template named `name` with the decision email's text in each language (flushed)."""
    template = EmailTemplate(name=name, default_locale="fr", versions=[
        EmailTemplateVersion(locale=locale, subject=subject, body_html=body)
        for locale, (subject, body) in DECISION.items()])
    db.session.add(template)
    db.session.flush()
    return template


def _demo_applications(campaign: Campaign, users: dict[Role, User], now) -> None:
    statuses = {s.code: s for s in db.session.scalars(sa.select(Status))}
    candidates = list(db.session.scalars(
        sa.select(User).where(User.email.in_(["camille@example.org", "sam@example.org"]))
        .order_by(User.email)  # Camille's is under review, Sam's a draft (see the README)
    ))
    plans = [("submitted", "under_review"), ("draft",)]
    for candidate, path in zip(candidates, plans, strict=True):
        application = Application(
            campaign=campaign, candidate=candidate, status=statuses[path[0]],
            reference=new_reference(), title=f"Projet de {candidate.first_name}",
            summary="Un court résumé du projet.", motivation="Pourquoi ce projet compte.",
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
