"""Every search box takes "%" and "_" as the letters typed, never as wildcards."""

from tests import factories
from tests.outbox_support import queue_messages
from webapp.extensions import db as _db


def test_campaign_template_application_and_outbox_searches_escape_wildcards(
        app, client, auth):
    with app.app_context():
        campaign = factories.make_campaign(label="Grants 50% off")
        factories.make_campaign(label="Grants 500 off")
        factories.make_template(name="Note a_b")
        factories.make_template(name="Note axb")
        factories.make_application(campaign, factories.make_user(
            email="ana_b@example.org", first_name="Ana", last_name="Under_score"))
        factories.make_application(campaign, factories.make_user(
            email="anaxb@example.org", first_name="Ana", last_name="Underxscore"))
        _db.session.commit()
        campaign_id = campaign.id
        queue_messages(1, subject="Discount 5% now")
        queue_messages(1, prefix="other", subject="Discount 55 now")
    auth.login_as("admin")

    campaigns = client.get("/campaigns/", query_string={"q": "50%"}).get_data(as_text=True)
    assert "Grants 50% off" in campaigns and "Grants 500 off" not in campaigns
    templates = client.get("/email-templates/", query_string={"q": "a_b"}).get_data(as_text=True)
    assert "Note a_b" in templates and "Note axb" not in templates
    listing = client.get(f"/applications/campaigns/{campaign_id}",
                         query_string={"q": "r_s"}).get_data(as_text=True)
    assert "Under_score" in listing and "Underxscore" not in listing
    listing = client.get(f"/applications/campaigns/{campaign_id}",
                         query_string={"q": "a_b@"}).get_data(as_text=True)
    assert "ana_b@example.org" in listing and "anaxb@example.org" not in listing
    outbox = client.get("/outbox/", query_string={"q": "5%"}).get_data(as_text=True)
    assert "Discount 5% now" in outbox and "Discount 55 now" not in outbox
