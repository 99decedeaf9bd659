"""French words on screens that the catalogue alone did not fix: a single application's
preview speaks of one application, system templates have French names, history lines name
reminders, labels take a space before their colon."""

from html import unescape

import sqlalchemy as sa

from tests import factories
from webapp.extensions import db
from webapp.models import EmailTemplate, User
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


def test_a_reminders_history_details_read_in_the_readers_language(app, client, auth, users):
    from webapp.services import reminders

    with app.app_context():
        campaign = factories.make_campaign()
        template = factories.make_template(name="Relance")
        manager = db.session.scalars(sa.select(User).where(
            User.email == "manager@example.org")).one()
        db.session.commit()
        closing = reminders.save_reminder(manager, campaign, None, reminders.ReminderInput(
            kind="before_closing", template_id=template.id, offset_amount=7,
            to_candidate=True), locale="en")
        reminders.save_reminder(manager, campaign, None, reminders.ReminderInput(
            kind="in_status", template_id=template.id,
            status_id=factories.status("submitted").id, offset_amount=3,
            repeat_every_days=7, max_times=3, to_evaluators=True), locale="en")
        reminders.set_active(manager, campaign, closing, False, locale="en")
        campaign_id = campaign.id
    _french(app, client, auth, "manager")
    html = page(client.get(f"/campaigns/{campaign_id}/emails"))
    history = html[html.index('id="trigger-history"'):]
    assert "7 jours avant la date de clôture (Le candidat)" in history
    assert "puis tous les 7 jours, au plus 3 fois (Les évaluateurs de la campagne)" in history
    assert "Inactif" in history
    for english in ("before closing", "every 7 days", "[candidate]", "[evaluators]", "(off)"):
        assert english not in history


def _reminder_campaign(app):
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
        return campaign.id


def test_the_reminders_row_names_its_switch_and_the_time_zone_of_its_next_run(
        app, client, auth, users):
    campaign_id = _reminder_campaign(app)
    _french(app, client, auth, "manager")
    html = page(client.get(f"/campaigns/{campaign_id}/emails"))
    row = html[html.index('id="reminder-'):]
    row = row[:row.index("</tr>")]
    # The switch's name: its state word, then which email (as a trigger's switch says it).
    switch = row[row.index('role="switch"'):]
    switch = switch[:switch.index("</button>")]
    assert 'aria-checked="true"' in switch
    assert '>Actif<span class="visually-hidden"> — Relance</span>' in switch
    next_run = row[row.index('class="next-run"'):]
    assert " UTC" in next_run[:next_run.index("</td>")]


def test_the_trigger_forms_timing_box_is_not_the_outboxs_sending_state(app, client, auth, users):
    with app.app_context():
        campaign = factories.make_campaign()
        factories.make_template(name="Décision")
        db.session.commit()
        campaign_id = campaign.id
    _french(app, client, auth, "manager")
    html = page(client.get(f"/campaigns/{campaign_id}/emails/status_changed/new",
                           headers={"HX-Request": "true"}))
    assert "<legend>Quand envoyer</legend>" in html
    assert "En cours d'envoi" not in html


def test_the_outbox_filter_names_system_templates_in_french(app, client, auth, users):
    with app.app_context():
        account_emails.ensure_system_templates()
        db.session.commit()
    _french(app, client, auth, "admin")
    html = page(client.get("/outbox/"))
    select = html[html.index('name="template"'):]
    select = select[:select.index("</select>")]
    assert "Compte : confirmer l'adresse e-mail" in select
    assert "Account: confirm the email address" not in select


def test_the_account_templates_example_and_sample_reference_look_real(app, client, auth, users):
    from webapp.services import applications, templating

    with app.app_context():
        account_emails.ensure_system_templates()
        db.session.commit()
        system = db.session.scalars(sa.select(EmailTemplate).where(
            EmailTemplate.system_key.is_not(None))).first().id
        sample = str(templating.PLACEHOLDERS["application_reference"].example)
        real = applications.new_reference()
    assert len(sample) == len(real) and sample[:4] == real[:4] == "MIS-"
    assert sample[4:].isalnum() and sample[4:].isupper()
    _french(app, client, auth, "admin")
    html = page(client.get(f"/email-templates/{system}"))
    assert "48 heures" in html and "48 hours" not in html


def test_stored_reasons_read_in_french(app):
    from flask_babel import force_locale

    from webapp.services import labels

    with app.test_request_context(), force_locale("fr"):
        assert labels.error("Rendering failed: division par zéro") == (
            "Le rendu a échoué : division par zéro")
        assert labels.error("Invalid address: 'x@' (one address per email, nothing to "
                            "deliver)").startswith("Adresse invalide : 'x@'")
        assert labels.error("550 5.1.1 mailbox unavailable") == "550 5.1.1 mailbox unavailable"
        assert labels.cancel_reason("Cancelled by admin@example.org") == (
            "Annulé par admin@example.org")
        assert labels.cancel_reason(
            "Cancelled by m@example.org while held for review").startswith("Annulé par m@")
