"""French words on screens that the catalogue alone did not fix: a single application's
preview speaks of one application, system templates have French names, history lines name
reminders, labels take a space before their colon."""

from html import unescape

import sqlalchemy as sa

from tests import factories
from webapp.extensions import db
from webapp.models import User
from webapp.services import account_emails


def _french(app, client, auth, role):
    with app.app_context():
        for user in db.session.scalars(sa.select(User)):
            user.locale = "fr"
        db.session.commit()
    auth.login_as(role)


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return unescape(response.get_data(as_text=True))


def test_a_single_application_preview_speaks_of_one_application(app, client, auth, users):
    with app.app_context():
        campaign = factories.make_campaign()
        application = factories.make_application(campaign, status_code="submitted")
        db.session.commit()
        application_id, submitted = application.id, factories.status("submitted").id
    _french(app, client, auth, "manager")
    html = page(client.get(f"/applications/{application_id}/status/preview?status={submitted}",
                           headers={"HX-Request": "true"}))
    assert "cette candidature ne changerait pas de statut" in html
    assert "sélectionnée" not in html
    detail = page(client.get(f"/applications/{application_id}"))
    assert "Statut :" in detail and "Statut:" not in detail


def test_system_templates_have_french_names(app, client, auth, users):
    with app.app_context():
        account_emails.ensure_system_templates()
        db.session.commit()
    _french(app, client, auth, "admin")
    html = page(client.get("/email-templates/"))
    assert "Compte : confirmer l'adresse e-mail" in html
    assert "Account: confirm the email address" not in html


def test_the_reminders_button_and_history_read_in_french(app, client, auth, users):
    from webapp.services import reminders

    with app.app_context():
        campaign = factories.make_campaign()
        template = factories.make_template(name="Relance")
        manager = db.session.scalars(sa.select(User).where(
            User.email == "manager@example.org")).one()
        db.session.commit()
        reminders.save_reminder(manager, campaign, None, reminders.ReminderInput(
            kind="before_closing", template_id=template.id, offset_amount=3,
            to_candidate=True), locale="fr")
        campaign_id = campaign.id
    _french(app, client, auth, "manager")
    html = page(client.get(f"/campaigns/{campaign_id}/emails"))
    assert "Programmer une relance" in html
    assert "relance programmée créée" in html and "reminder.created" not in html
    assert ">Emails<" in html  # the tab keeps the reference product's word (DESIGN.md)


def test_a_required_field_says_obligatoire_everywhere(client):
    html = unescape(client.post("/auth/login", data={"email": "", "password": ""},
                                headers={"Accept-Language": "fr"}).get_data(as_text=True))
    assert "Ce champ est obligatoire." in html
    assert "Ce champ est requis" not in html
