"""The lifecycle rule: a draft is its candidate's; staff never move an application into Draft or
out of it, except through "Reopen for changes", which is explicit and audited."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests import factories
from webapp.core import clock
from webapp.extensions import db as _db
from webapp.models import Application, AuditEntry, EventType, Role, StatusChange, User
from webapp.models.outbox import OutboxMessage

FORM = {"title": "Tide pools", "summary": "A study", "motivation": "Curiosity", "confirmed": "y"}


def _user(email):
    return _db.session.scalars(sa.select(User).where(User.email == email)).one()


@pytest.fixture
def world(app, users):
    with app.app_context():
        evaluator = _user("evaluator@example.org")
        campaign = factories.make_campaign(label="Grants", evaluators=[evaluator])
        factories.make_trigger(campaign, factories.make_template(name="Ack"),
                               event=EventType.SUBMITTED)
        factories.make_trigger(campaign, factories.make_template(name="Accepted!"),
                               to_status="accepted")
        draft = factories.make_application(campaign, _user("candidate@example.org"))
        submitted = [factories.make_application(campaign, status_code="submitted")
                     for _ in range(2)]
        _db.session.commit()
        return {"campaign": campaign.id, "draft": draft.id,
                "submitted": [a.id for a in submitted],
                "accepted": factories.status("accepted").id,
                "draft_status": factories.status("draft").id}


def _status(app, application_id):
    with app.app_context():
        return _db.session.get(Application, application_id).status.code


def _count(app, model, *where):
    with app.app_context():
        return _db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_staff_cannot_give_a_status_to_a_draft(app, client, auth, world, htmx_headers):
    auth.login_as("manager")
    page = client.get(f"/applications/{world['draft']}").get_data(as_text=True)
    assert "it belongs to its candidate until they submit it" in page
    assert 'name="status"' not in page  # no status form on a draft
    response = client.post(f"/applications/{world['draft']}/status",
                           data={"status": world["accepted"]}, headers=htmx_headers)
    assert response.status_code == 422
    assert "This application is a draft" in response.get_data(as_text=True)
    assert _status(app, world["draft"]) == "draft"
    assert _count(app, StatusChange) == 0 and _count(app, OutboxMessage) == 0


def test_no_status_change_moves_an_application_back_to_draft(app, client, auth, world):
    auth.login_as("manager")
    page = client.get(f"/applications/{world['submitted'][0]}").get_data(as_text=True)
    assert f'<option value="{world["draft_status"]}"' not in page
    response = client.post(f"/applications/{world['submitted'][0]}/status",
                           data={"status": world["draft_status"]})
    assert response.status_code == 422
    assert _status(app, world["submitted"][0]) == "submitted"
    bulk = client.post(f"/applications/campaigns/{world['campaign']}/status",
                       data={"status": world["draft_status"], "scope": "all"})
    assert bulk.status_code == 422
    assert _count(app, StatusChange) == 0


def test_a_bulk_change_skips_drafts_and_says_how_many(app, client, auth, world):
    auth.login_as("manager")
    everyone = [world["draft"], *world["submitted"]]
    preview = client.get(f"/applications/campaigns/{world['campaign']}/status/preview",
                         query_string={"status": world["accepted"], "scope": "selected",
                                       "ids": everyone}).get_data(as_text=True)
    assert "2 applications will move to Accepted." in preview
    assert "1 draft will be left alone" in preview
    response = client.post(f"/applications/campaigns/{world['campaign']}/status",
                           data={"status": world["accepted"], "scope": "selected",
                                 "ids": everyone}, follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "2 applications moved to Accepted. 2 emails queued." in text
    assert "1 draft was left alone: a draft belongs to its candidate" in text
    assert _status(app, world["draft"]) == "draft"
    assert [_status(app, i) for i in world["submitted"]] == ["accepted", "accepted"]


def test_reopen_for_changes_is_explicit_audited_and_lets_the_candidate_resubmit(
        app, client, auth, world):
    auth.login_as("candidate")
    client.post(f"/my/applications/{world['draft']}", data={**FORM, "action": "submit"})
    client.post(f"/my/applications/{world['draft']}/submit")  # confirmed
    auth.logout()
    auth.login_as("manager")
    client.post(f"/applications/{world['draft']}/status", data={"status": world["accepted"]})
    # The "accepted" email is still waiting when the manager reopens.
    page = client.get(f"/applications/{world['draft']}").get_data(as_text=True)
    assert "Reopen for changes" in page and "must submit it again" in page
    response = client.post(f"/applications/{world['draft']}/reopen",
                           data={"reopen-comment": "Please add your budget"}, follow_redirects=True)
    assert "The application is a draft again" in response.get_data(as_text=True)
    assert _status(app, world["draft"]) == "draft"
    with app.app_context():
        last = _db.session.scalars(sa.select(StatusChange)
                                   .order_by(StatusChange.id.desc())).first()
        assert (last.from_status.code, last.to_status.code, last.comment) == \
            ("accepted", "draft", "Please add your budget")
        entry = _db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == "application.reopened")).one()
        assert entry.object_id == world["draft"] and "accepted -> draft" in entry.summary
        states = set(_db.session.scalars(sa.select(OutboxMessage.state)
                                         .where(OutboxMessage.event_type == "status_changed")))
        assert states == {"cancelled"}  # the decision email will not go out
    auth.logout()
    auth.login_as("candidate")
    asked = client.post(f"/my/applications/{world['draft']}",
                        data={**FORM, "title": "Tide pools, with budget", "action": "submit"})
    assert asked.status_code == 200 and _status(app, world["draft"]) == "draft"
    resubmitted = client.post(f"/my/applications/{world['draft']}/submit")
    assert resubmitted.status_code == 303
    assert _status(app, world["draft"]) == "submitted"
    assert _count(app, OutboxMessage, OutboxMessage.event_type == "submitted") == 2


def test_only_platform_managers_reopen_and_only_what_was_submitted(app, client, auth, world):
    auth.login_as("evaluator")
    page = client.get(f"/applications/{world['submitted'][0]}").get_data(as_text=True)
    assert "Reopen for changes" not in page
    assert client.post(f"/applications/{world['submitted'][0]}/reopen").status_code == 403
    assert _status(app, world["submitted"][0]) == "submitted"
    auth.logout()
    auth.login_as("manager")
    again = client.post(f"/applications/{world['draft']}/reopen")
    assert again.status_code == 422
    assert "already a draft" in again.get_data(as_text=True)
    assert _count(app, AuditEntry, AuditEntry.action == "application.reopened") == 0


def test_reopening_is_refused_once_the_campaign_is_closed(app, client, auth, world):
    with app.app_context():
        campaign = _db.session.get(Application, world["submitted"][0]).campaign
        campaign.closes_at = clock.now() - timedelta(days=1)
        _db.session.commit()
    auth.login_as("admin")
    response = client.post(f"/applications/{world['submitted'][0]}/reopen")
    assert response.status_code == 422
    assert "could not be submitted again" in response.get_data(as_text=True)
    assert _status(app, world["submitted"][0]) == "submitted"


def test_the_candidate_is_the_only_one_to_take_a_draft_out_of_draft(app, db, world):
    from webapp.core.errors import ValidationFailed
    from webapp.services import applications

    manager = factories.make_user(Role.MANAGER, email="m2@example.org")
    with pytest.raises(ValidationFailed):
        applications.change_status(manager, world["draft"], world["accepted"])
    result = applications.bulk_change_status(
        manager, applications.Selection(world["campaign"], all_matching=True),
        world["accepted"])
    assert (result.moved, result.drafts) == (2, 1)
