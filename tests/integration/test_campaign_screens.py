"""A new campaign starts safe: unpublished until a manager publishes it, its creator ticked as
a manager, members picked from checkboxes."""

import re

import sqlalchemy as sa

from webapp.extensions import db as _db
from webapp.models import AuditEntry, Campaign, MemberRole, User

NEW = {"label": "Grants 2027", "opens_at": "2020-01-10T09:00", "closes_at": "2099-07-31T18:00"}


def _user_id(app, email):
    with app.app_context():
        return _db.session.scalar(sa.select(User.id).where(User.email == email))


def _inputs(html, name):
    """{value: checked} of the checkboxes called `name`."""
    tags = re.findall(rf'<input[^>]*name="{name}"[^>]*>', html)
    return {re.search(r'value="([^"]*)"', t).group(1): " checked" in t for t in tags}


def test_the_new_campaign_form_is_unpublished_with_its_creator_ticked(app, client, auth):
    auth.login_as("manager")
    html = client.get("/campaigns/new").get_data(as_text=True)
    me, evaluator = _user_id(app, "manager@example.org"), _user_id(app, "evaluator@example.org")
    assert _inputs(html, "published") == {"y": False}
    assert _inputs(html, "managers")[str(me)] is True
    assert _inputs(html, "evaluators") == {str(evaluator): False}
    assert "manager@example.org" in html  # names and emails, to tell people apart


def test_a_campaign_created_without_ticking_published_is_hidden_until_published(
        app, client, auth):
    auth.login_as("manager")
    me, evaluator = _user_id(app, "manager@example.org"), _user_id(app, "evaluator@example.org")
    created = client.post("/campaigns/new", data={**NEW, "managers": [me],
                                                 "evaluators": [evaluator]})
    assert created.status_code == 303
    with app.app_context():
        campaign = _db.session.scalar(sa.select(Campaign))
        assert campaign.published is False
        assert [u.id for u in campaign.member_users(MemberRole.MANAGER)] == [me]
        assert [u.id for u in campaign.member_users(MemberRole.EVALUATOR)] == [evaluator]
        campaign_id = campaign.id
    assert "Grants 2027" not in client.get("/apply/").get_data(as_text=True)
    page = client.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
    assert "Candidates do not see this campaign until you publish it." in page

    published = client.post(f"/campaigns/{campaign_id}/publish", follow_redirects=True)
    assert "Campaign published" in published.get_data(as_text=True)
    assert "Grants 2027" in client.get("/apply/").get_data(as_text=True)
    client.post(f"/campaigns/{campaign_id}/unpublish")
    assert "Grants 2027" not in client.get("/apply/").get_data(as_text=True)
    with app.app_context():
        kinds = _db.session.scalars(sa.select(AuditEntry.action).where(
            AuditEntry.action.like("campaign.%publish%")).order_by(AuditEntry.id)).all()
        assert kinds == ["campaign.published", "campaign.unpublished"]


def test_an_unknown_member_is_refused_next_to_its_field_and_nothing_is_saved(
        app, client, auth):
    auth.login_as("manager")
    response = client.post("/campaigns/new", data={**NEW, "managers": [99999]})
    assert response.status_code == 422
    assert "99999&#39; is not a valid choice for this field." in response.get_data(as_text=True)
    with app.app_context():
        assert _db.session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 0
