"""Dates are typed and shown in the platform's time zone and stored in UTC."""

from datetime import datetime

import sqlalchemy as sa

from tests import factories
from webapp.extensions import db
from webapp.models import Campaign
from webapp.services import templating


def test_campaign_dates_are_typed_in_paris_time_and_stored_in_utc(app, auth, client):
    auth.login_as("manager")
    response = client.post("/campaigns/new", data={
        "label": "Grants", "opens_at": "2027-01-10T09:00", "closes_at": "2027-07-31T23:30",
        "published": "y"})
    assert response.status_code in (302, 303)
    with app.app_context():
        campaign = db.session.scalar(sa.select(Campaign))
        assert campaign.opens_at == datetime(2027, 1, 10, 8, 0)  # winter: UTC+1
        assert campaign.closes_at == datetime(2027, 7, 31, 21, 30)  # summer: UTC+2
        campaign_id = campaign.id
    form = client.get(f"/campaigns/{campaign_id}/edit").get_data(as_text=True)
    assert 'value="2027-01-10T09:00"' in form
    assert 'value="2027-07-31T23:30"' in form


def test_the_closing_date_placeholder_is_the_date_in_the_platform_time_zone(db):
    campaign = factories.make_campaign()
    campaign.closes_at = datetime(2027, 3, 31, 22, 30)  # 1 April, 00:30 in Paris
    application = factories.make_application(campaign)
    ctx = templating.context_for(application, "Ana", "ana@example.org", "en")
    assert templating.render("{{ closing_date }}", ctx, html=False) == "April 1, 2027"
