"""The status-change previews say which emails will be held for review, counted as the held
section counts them (one per email): in French, "N e-mails seront retenus pour relecture"."""

import pytest

from tests import factories
from webapp.extensions import db
from webapp.models import Role, User

HX = {"HX-Request": "true"}


@pytest.fixture
def world(app, users, client):
    """Three submitted applications; the "Accepté" decision goes to the candidate and to the
    jury's address, and is held for review; the manager reads French."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr"
    with app.app_context():
        manager = db.session.get(User, users["manager"])
        manager.locale = "fr"
        campaign = factories.make_campaign(label="Bourses", managers=[manager])
        template = factories.make_template(name="Décision",
                                           subject="Décision : {{ status_label }}")
        factories.make_trigger(campaign, template, hold_for_review=True,
                               extra_addresses="jury@example.org")
        apps = [factories.make_application(campaign, factories.make_user(
            Role.CANDIDATE, email=f"cand{i}@example.org"), status_code="submitted").id
            for i in range(3)]
        db.session.commit()
        return dict(campaign=campaign.id, apps=apps, accepted=factories.status("accepted").id,
                    submitted=factories.status("submitted").id)


def test_the_single_preview_says_the_email_will_be_held(client, auth, world):
    auth.login_as("manager")
    text = client.get(f"/applications/{world['apps'][0]}/status/preview",
                      query_string={"status": world["accepted"]},
                      headers=HX).get_data(as_text=True)
    assert "2 e-mails seront retenus pour relecture" in text
    assert "file d'attente" not in text


def test_the_bulk_preview_counts_held_emails_as_the_held_section_does(client, auth, world):
    auth.login_as("manager")
    base = f"/applications/campaigns/{world['campaign']}/status"
    query = {"status": world["accepted"], "scope": "all", "list_status": world["submitted"]}
    text = client.get(f"{base}/preview", query_string=query, headers=HX).get_data(as_text=True)
    assert "6 e-mails seront retenus pour relecture" in text
    assert "modèle « Décision » → 6 e-mails" in text
    assert "file d'attente" not in text

    client.post(base, data={**query, "comment": ""}, headers=HX)
    listing = client.get(f"/applications/campaigns/{world['campaign']}",
                         headers=HX).get_data(as_text=True)
    assert ("3 candidatures passées au statut Accepté. 6 e-mails retenus pour relecture."
            in listing)
    page = client.get(f"/campaigns/{world['campaign']}/emails").get_data(as_text=True)
    held = page[page.index('id="section-held"'):]
    assert "6 e-mails" in held and "à 4 destinataires" in held
