"""Campaigns and their Emails tab: automatic emails on candidate and manager actions."""

import json
import re

import sqlalchemy as sa

from tests import factories
from webapp.core import clock
from webapp.extensions import db as _db
from webapp.models import AuditEntry, Campaign, EventType, Trigger
from webapp.services import campaigns


def _count(model, *where) -> int:
    return _db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _setup(app, **campaign_kwargs):
    """A campaign (made through the service: it has its default acknowledgement) and a
    template; returns their ids."""
    with app.app_context():
        now = clock.now()
        campaign = campaigns.create_campaign(None, "Grants 2027", now, now.replace(
            year=now.year + 1), **campaign_kwargs)
        template = factories.make_template(name="Decision letter")
        _db.session.commit()
        return campaign.id, template.id


def _status_id(app, code):
    with app.app_context():
        return factories.status(code).id


def _trigger_form(template_id, **overrides):
    data = {"template_id": str(template_id), "to_candidate": "y", "active": "y"}
    data.update(overrides)
    return data


# Campaigns --------------------------------------------------------------------------------


def test_a_manager_creates_a_campaign_which_gets_the_default_acknowledgement(
        app, client, auth, users):
    auth.login_as("manager")
    response = client.post("/campaigns/new", data={
        "label": "Fellowships", "description": "For young researchers",
        "opens_at": "2027-01-01T09:00", "closes_at": "2027-03-31T18:00", "published": "y",
        "managers": [str(users["manager"])], "evaluators": [str(users["evaluator"])],
    })
    assert response.status_code == 303
    with app.app_context():
        campaign = _db.session.scalars(sa.select(Campaign)).one()
        assert campaign.label == "Fellowships"
        assert [u.id for u in campaign.member_users("evaluator")] == [users["evaluator"]]
        trigger = _db.session.scalars(sa.select(Trigger)).one()
        assert trigger.event == EventType.SUBMITTED and trigger.active and trigger.to_candidate
        assert trigger.is_default_acknowledgement
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Accusé de réception" in page and "Default acknowledgement" in page


def test_the_platform_setting_turns_the_default_acknowledgement_off(make_app, users):
    app = make_app(DEFAULT_ACKNOWLEDGEMENT_TRIGGER=False)
    _setup(app)
    with app.app_context():
        assert _count(Trigger) == 0


def test_campaign_dates_must_be_ordered_and_nothing_is_saved(app, client, auth, users):
    auth.login_as("manager")
    response = client.post("/campaigns/new", data={
        "label": "Bad", "opens_at": "2027-03-01T09:00", "closes_at": "2027-01-01T09:00"})
    assert response.status_code == 422
    assert b"The closing date must be after the opening date." in response.data
    with app.app_context():
        assert _count(Campaign) == 0


def test_editing_a_campaign_keeps_its_emails_and_never_recreates_the_default(
        app, client, auth, users):
    campaign_id, _ = _setup(app)
    auth.login_as("manager")
    with app.app_context():
        default = _db.session.scalars(sa.select(Trigger)).one()
    client.post(f"/campaigns/{campaign_id}/triggers/{default.id}/delete")
    response = client.post(f"/campaigns/{campaign_id}/edit", data={
        "label": "Grants 2027 (renamed)", "opens_at": "2027-01-01T09:00",
        "closes_at": "2027-03-31T18:00", "managers": [str(users["manager"])]})
    assert response.status_code == 303
    with app.app_context():
        campaign = _db.session.get(Campaign, campaign_id)
        assert campaign.label == "Grants 2027 (renamed)"
        assert [m.user_id for m in campaign.members] == [users["manager"]]
        assert _count(Trigger) == 0


def test_the_list_searches_and_filters_by_phase(app, client, auth, htmx_headers):
    with app.app_context():
        factories.make_campaign(label="Open grants", opens_in_days=-1, closes_in_days=10)
        factories.make_campaign(label="Future grants", opens_in_days=5, closes_in_days=10)
        factories.make_campaign(label="Old fellowships", opens_in_days=-20, closes_in_days=-10)
        _db.session.commit()
    auth.login_as("manager")
    page = client.get("/campaigns/").get_data(as_text=True)
    assert all(label in page for label in ("Open grants", "Future grants", "Old fellowships"))
    fragment = client.get("/campaigns/?q=grants&phase=upcoming", headers=htmx_headers)
    text = fragment.get_data(as_text=True)
    assert text.lstrip().startswith('<div id="campaign-list">')
    assert "Future grants" in text and "Open grants" not in text
    closed = client.get("/campaigns/?phase=closed").get_data(as_text=True)
    assert "Old fellowships" in closed and "Open grants" not in closed


def test_duplicating_a_campaign_copies_its_triggers(app, client, auth):
    campaign_id, template_id = _setup(app)
    with app.app_context():
        campaign = _db.session.get(Campaign, campaign_id)
        template = _db.session.get(type(campaign).metadata.tables and
                                   __import__("webapp.models").models.EmailTemplate,
                                   template_id)
        factories.make_trigger(campaign, template, to_status="accepted", from_status="submitted",
                               to_managers=True, extra_addresses="office@example.org",
                               active=False)
        _db.session.commit()
    auth.login_as("manager")
    response = client.post(f"/campaigns/{campaign_id}/duplicate")
    assert response.status_code == 303
    with app.app_context():
        copy = _db.session.scalars(sa.select(Campaign).where(Campaign.id != campaign_id)).one()
        assert copy.label == "Grants 2027 (copy)" and not copy.published

        def shape(cid):
            rows = _db.session.scalars(sa.select(Trigger).where(Trigger.campaign_id == cid)
                                       .order_by(Trigger.id))
            return [(t.event, t.to_status_id, t.from_status_id, t.template_id, t.to_candidate,
                     t.to_managers, t.extra_addresses, t.active, t.is_default_acknowledgement)
                    for t in rows]

        assert shape(copy.id) == shape(campaign_id) and len(shape(copy.id)) == 2


# The Emails tab ---------------------------------------------------------------------------


def test_the_emails_tab_shows_its_sections(app, client, auth):
    campaign_id, _ = _setup(app)
    auth.login_as("manager")
    page = client.get(f"/campaigns/{campaign_id}/emails").get_data(as_text=True)
    assert "<html" in page
    assert "Candidate action" in page and "Manager / evaluator action" in page
    assert "Scheduled reminders" in page and "Emails held for review" in page
    assert page.count("Create an automatic email") == 2 and "Schedule a reminder" in page
    fragment = client.get(f"/campaigns/{campaign_id}/emails",
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and fragment.lstrip().startswith('<div id="emails-tab">')


def test_the_campaign_tab_comes_as_a_fragment_to_htmx(app, client, auth, htmx_headers):
    campaign_id, _ = _setup(app)
    auth.login_as("manager")
    fragment = client.get(f"/campaigns/{campaign_id}/edit", headers=htmx_headers)
    text = fragment.get_data(as_text=True)
    assert "<html" not in text and text.lstrip().startswith('<div id="details-tab">')
    assert 'value="Grants 2027"' in text
    assert "HX-Request" in fragment.headers["Vary"]
    assert b"<html" in client.get(f"/campaigns/{campaign_id}/edit").data


def test_the_emails_tab_in_french_uses_the_reference_words(app, client, auth):
    campaign_id, _ = _setup(app)
    auth.login_as("manager")
    client.post("/language", data={"locale": "fr"})
    page = client.get(f"/campaigns/{campaign_id}/emails").get_data(as_text=True)
    for words in ("Action du candidat", "Action du gestionnaire / évaluateur",
                  "Créer un e-mail automatique", "E-mails", "Campagnes d'appel"):
        assert words in page, words
    form = client.get(f"/campaigns/{campaign_id}/emails/submitted/new").get_data(as_text=True)
    assert "Sauvegarder et continuer" in form
    show = client.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
    assert ">Modifier</a>" in show


def test_htmx_opens_the_form_in_place(app, client, auth, htmx_headers):
    campaign_id, _ = _setup(app)
    auth.login_as("manager")
    response = client.get(f"/campaigns/{campaign_id}/emails/status_changed/new",
                          headers=htmx_headers)
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert text.lstrip().startswith('<section id="section-status_changed"')
    assert 'id="trigger-form-status_changed"' in text and "When the status becomes" in text
    submitted = client.get(f"/campaigns/{campaign_id}/emails/submitted/new",
                           headers=htmx_headers).get_data(as_text=True)
    assert "When the status becomes" not in submitted


def test_creating_a_status_trigger_with_htmx(app, client, auth, htmx_headers):
    campaign_id, template_id = _setup(app)
    accepted, submitted = _status_id(app, "accepted"), _status_id(app, "submitted")
    auth.login_as("manager")
    response = client.post(f"/campaigns/{campaign_id}/emails/status_changed/new",
                           headers=htmx_headers, data=_trigger_form(
                               template_id, to_status_id=str(accepted),
                               from_status_id=str(submitted), to_managers="y",
                               extra_addresses="Office@Example.org; boss@example.org"))
    assert response.status_code == 200
    events = json.loads(response.headers["HX-Trigger"])
    assert "triggerSaved" in events
    text = response.get_data(as_text=True)
    assert text.lstrip().startswith('<section id="section-status_changed"')
    assert "trigger-form" not in text  # the form is closed
    assert "When the status becomes Accepted" in text and "from Submitted" in text
    # The message is appended into the page's live region, which stays in place.
    assert 'hx-swap-oob="beforeend:#messages"' in text and "Automatic email saved." in text
    with app.app_context():
        trigger = _db.session.scalars(sa.select(Trigger).where(
            Trigger.event == EventType.STATUS_CHANGED)).one()
        assert (trigger.to_status_id, trigger.from_status_id) == (accepted, submitted)
        assert trigger.to_candidate and trigger.to_managers and not trigger.to_actor
        assert trigger.extra_addresses == "office@example.org, boss@example.org"
        entry = _db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == "trigger.created")).one()
        assert entry.campaign_id == campaign_id and "Decision letter" in entry.summary
    history = client.get(f"/campaigns/{campaign_id}/emails/history").get_data(as_text=True)
    assert "automatic email created" in history and "Decision letter" in history


def test_a_missing_status_is_a_422_next_to_the_field_and_saves_nothing(
        app, client, auth, htmx_headers):
    campaign_id, template_id = _setup(app)
    auth.login_as("manager")
    response = client.post(f"/campaigns/{campaign_id}/emails/status_changed/new",
                           headers=htmx_headers, data=_trigger_form(template_id))
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Choose the status that sends this email." in text
    # Ids carry the section, so both sections' forms can be open at once.
    assert 'id="status_changed-to_status_id-errors"' in text
    assert 'aria-describedby="status_changed-to_status_id-errors"' in text
    assert 'name="to_status_id"' in text
    with app.app_context():
        assert _count(Trigger, Trigger.event == EventType.STATUS_CHANGED) == 0


def test_template_and_recipients_are_required(app, client, auth, htmx_headers):
    campaign_id, _ = _setup(app)
    auth.login_as("manager")
    response = client.post(f"/campaigns/{campaign_id}/emails/submitted/new",
                           headers=htmx_headers, data={"active": "y"})
    assert response.status_code == 422
    assert b"Choose an email template." in response.data
    assert b"Choose at least one recipient." in response.data
    response = client.post(f"/campaigns/{campaign_id}/emails/submitted/new",
                           headers=htmx_headers,
                           data={"active": "y", "extra_addresses": "a@example.org, nope"})
    assert b"Not a valid email address: nope" in response.data
    with app.app_context():
        assert _count(Trigger) == 1  # the default acknowledgement only


def test_a_duplicate_of_an_active_trigger_is_refused(app, client, auth, htmx_headers):
    campaign_id, template_id = _setup(app)
    accepted = _status_id(app, "accepted")
    auth.login_as("manager")
    url = f"/campaigns/{campaign_id}/emails/status_changed/new"
    form = _trigger_form(template_id, to_status_id=str(accepted),
                         extra_addresses="a@example.org, b@example.org")
    assert client.post(url, headers=htmx_headers, data=form).status_code == 200
    twin = dict(form, extra_addresses="B@example.org, a@example.org")
    response = client.post(url, headers=htmx_headers, data=twin)
    assert response.status_code == 422
    with app.app_context():
        existing = _db.session.scalars(sa.select(Trigger).where(
            Trigger.event == EventType.STATUS_CHANGED)).one()
    assert (f"An identical automatic email already exists and is active: #{existing.id}"
            in response.get_data(as_text=True))
    # Inactive, it may exist (a variant kept aside), but switching it on is refused.
    assert client.post(url, headers=htmx_headers, data={
        k: v for k, v in twin.items() if k != "active"}).status_code == 200
    with app.app_context():
        inactive = _db.session.scalars(sa.select(Trigger).where(
            Trigger.active.is_(False))).one()
    response = client.post(f"/campaigns/{campaign_id}/triggers/{inactive.id}/toggle",
                           headers=htmx_headers)
    assert response.status_code == 422
    assert b"An identical automatic email already exists" in response.data
    with app.app_context():
        assert not _db.session.get(Trigger, inactive.id).active


def test_editing_a_trigger_in_place(app, client, auth, htmx_headers):
    campaign_id, template_id = _setup(app)
    auth.login_as("manager")
    with app.app_context():
        default_id = _db.session.scalars(sa.select(Trigger.id)).one()
    url = f"/campaigns/{campaign_id}/triggers/{default_id}/edit"
    form = client.get(url, headers=htmx_headers).get_data(as_text=True)
    assert 'id="trigger-form-submitted"' in form and "selected" in form
    # On a submission the person who acts is the candidate: no such choice, and none kept.
    assert "The person who made the change" not in form
    response = client.post(url, headers=htmx_headers, data=_trigger_form(
        template_id, to_actor="y", to_managers="y"))
    assert response.status_code == 200
    with app.app_context():
        trigger = _db.session.get(Trigger, default_id)
        assert trigger.template_id == template_id and trigger.to_managers
        assert not trigger.to_actor
        assert trigger.is_default_acknowledgement
        entry = _db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == "trigger.updated")).one()
        assert entry.details["before"]["recipients"] == ["candidate"]
        assert entry.details["after"]["recipients"] == ["candidate", "managers"]

    # The history says what changed, in the reader's language whoever made the change.
    client.post("/language", data={"locale": "fr"})
    history = client.get(f"/campaigns/{campaign_id}/emails/history",
                         headers=htmx_headers).get_data(as_text=True)
    assert ("Modèle d&#39;e-mail : <del>Accusé de réception</del> → "
            "<ins>Decision letter</ins>") in history
    assert ("Destinataires : <del>Le candidat</del> → "
            "<ins>Le candidat, Les gestionnaires de la campagne</ins>") in history
    assert "[candidate" not in history and "managers]" not in history


def test_toggle_and_delete(app, client, auth, htmx_headers):
    campaign_id, _ = _setup(app)
    auth.login_as("manager")
    with app.app_context():
        trigger_id = _db.session.scalars(sa.select(Trigger.id)).one()
    response = client.post(f"/campaigns/{campaign_id}/triggers/{trigger_id}/toggle",
                           headers=htmx_headers)
    assert response.status_code == 200
    assert b'aria-checked="false"' in response.data
    with app.app_context():
        assert not _db.session.get(Trigger, trigger_id).active
    response = client.post(f"/campaigns/{campaign_id}/triggers/{trigger_id}/delete",
                           headers=htmx_headers)
    assert response.status_code == 200 and b"No automatic email yet." in response.data
    with app.app_context():
        assert _count(Trigger) == 0
        actions = _db.session.scalars(sa.select(AuditEntry.action).where(
            AuditEntry.object_type == "trigger").order_by(AuditEntry.id)).all()
        assert actions == ["trigger.deactivated", "trigger.deleted"]


def test_everything_works_without_javascript(app, client, auth):
    campaign_id, template_id = _setup(app)
    accepted = _status_id(app, "accepted")
    auth.login_as("manager")
    page = client.get(f"/campaigns/{campaign_id}/emails/status_changed/new")
    assert page.status_code == 200 and b"<html" in page.data and b"Save and continue" in page.data
    invalid = client.post(f"/campaigns/{campaign_id}/emails/status_changed/new",
                          data=_trigger_form(template_id))
    assert invalid.status_code == 422 and b"<html" in invalid.data
    response = client.post(f"/campaigns/{campaign_id}/emails/status_changed/new",
                           data=_trigger_form(template_id, to_status_id=str(accepted)))
    assert response.status_code == 303
    assert response.headers["Location"] == f"/campaigns/{campaign_id}/emails"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Automatic email saved." in page
    with app.app_context():
        trigger_id = _db.session.scalars(sa.select(Trigger.id).where(
            Trigger.event == EventType.STATUS_CHANGED)).one()
    toggled = client.post(f"/campaigns/{campaign_id}/triggers/{trigger_id}/toggle")
    assert toggled.status_code == 303
    confirm = client.get(f"/campaigns/{campaign_id}/triggers/{trigger_id}/delete")
    assert b"Delete this automatic email?" in confirm.data
    deleted = client.post(f"/campaigns/{campaign_id}/triggers/{trigger_id}/delete")
    assert deleted.status_code == 303
    with app.app_context():
        assert _count(Trigger, Trigger.event == EventType.STATUS_CHANGED) == 0


def test_a_trigger_of_another_campaign_is_404(app, client, auth):
    campaign_id, _ = _setup(app)
    with app.app_context():
        other = factories.make_campaign()
        _db.session.commit()
        other_id = other.id
        trigger_id = _db.session.scalars(sa.select(Trigger.id)).one()
    auth.login_as("manager")
    assert client.post(f"/campaigns/{other_id}/triggers/{trigger_id}/toggle").status_code == 404
    assert client.get(f"/campaigns/{campaign_id}/emails/nope/new").status_code == 404


def test_without_templates_the_form_says_so_and_links_to_creating_one(make_app, users):
    app = make_app(DEFAULT_ACKNOWLEDGEMENT_TRIGGER=False)
    with app.app_context():
        campaign_id = factories.make_campaign().id
        _db.session.commit()
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.post("/auth/login", data={"email": "manager@example.org",
                                     "password": factories.PASSWORD})
    page = client.get(f"/campaigns/{campaign_id}/emails/submitted/new").get_data(as_text=True)
    assert "There is no email template yet." in page
    assert 'href="/email-templates/new"' in page


def test_both_sections_forms_open_at_once_have_distinct_ids_tied_to_their_labels(
        app, client, auth, htmx_headers):
    campaign_id, _ = _setup(app)
    auth.login_as("manager")
    forms = [client.get(f"/campaigns/{campaign_id}/emails/{event}/new",
                        headers=htmx_headers).get_data(as_text=True)
             for event in ("submitted", "status_changed")]
    ids = [set(re.findall(r' id="([^"]+)"', html)) for html in forms]
    assert not ids[0] & ids[1]
    for html in forms:
        for target in re.findall(r'<label for="([^"]+)"', html):
            assert f'id="{target}"' in html
    assert 'for="submitted-template_id"' in forms[0]
    assert 'name="template_id"' in forms[0] and 'name="template_id"' in forms[1]
