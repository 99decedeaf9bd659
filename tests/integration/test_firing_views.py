"""Candidate and manager screens: forms, htmx fragments, access rules (including id guessing)."""

import json
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests import factories
from webapp.extensions import db as _db
from webapp.models import Application, EventType, Role, StatusChange, User
from webapp.models.outbox import OutboxMessage


def _user(email):
    return _db.session.scalars(sa.select(User).where(User.email == email)).one()


@pytest.fixture
def world(app, users):
    """A campaign with an acknowledgement and an "accepted" trigger, an assigned evaluator, a
    draft of candidate@example.org and a submitted application of someone else."""
    with app.app_context():
        other_evaluator = factories.make_user(Role.EVALUATOR, email="other-eval@example.org")
        campaign = factories.make_campaign(label="Grants",
                                           evaluators=[_user("evaluator@example.org")])
        elsewhere = factories.make_campaign(label="Elsewhere", evaluators=[other_evaluator])
        factories.make_trigger(campaign, factories.make_template(name="Ack"),
                               event=EventType.SUBMITTED)
        factories.make_trigger(campaign, factories.make_template(name="Welcome aboard"),
                               to_status="accepted", to_candidate=True, to_actor=True)
        draft = factories.make_application(campaign, _user("candidate@example.org"))
        theirs = factories.make_application(campaign, status_code="submitted")
        _db.session.commit()
        return {"campaign": campaign.id, "elsewhere": elsewhere.id, "draft": draft.id,
                "theirs": theirs.id, "accepted": factories.status("accepted").id}


def _count(app, model, *where):
    with app.app_context():
        return _db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


FORM = {"title": "Tide pools", "summary": "A study", "motivation": "Curiosity", "confirmed": "y"}


# --- candidate ----------------------------------------------------------------------------


def test_a_candidate_starts_fills_saves_and_submits(app, client, auth, world):
    with app.app_context():
        _db.session.execute(sa.delete(Application).where(Application.id == world["draft"]))
        _db.session.commit()
    auth.login_as("candidate")
    assert b"Grants" in client.get("/apply/").data
    started = client.post(f"/apply/{world['campaign']}/start")
    assert started.status_code == 303
    url = started.headers["Location"]
    page = client.get(url)
    assert b'id="application-form"' in page.data

    saved = client.post(url, data={"title": "Draft", "action": "save"})
    assert saved.status_code == 303
    assert b'value="Draft"' in client.get(url).data

    # Submitting asks first, saying what it means; nothing is submitted yet.
    asked = client.post(url, data={**FORM, "action": "submit"})
    assert asked.status_code == 200
    assert b"Submit your application?" in asked.data
    assert b"can no longer be changed" in asked.data
    assert _count(app, StatusChange) == 0 and _count(app, OutboxMessage) == 0
    assert b'value="Tide pools"' in client.get(url).data  # the answers are kept as the draft

    submitted = client.post(f"{url}/submit", follow_redirects=True)
    assert b"Your application was submitted." in submitted.data
    assert b"Your application is submitted" in submitted.data  # the receipt
    assert b'id="application-summary"' in submitted.data
    assert b"Submitted" in submitted.data and b"MIS-" in submitted.data
    assert b'id="application-form"' not in submitted.data
    assert b"Print this receipt" in submitted.data
    assert b'id="application-form"' not in client.get(url).data
    mine = client.get("/my/applications").data
    assert b"Grants" in mine and b"Submitted" in mine
    assert _count(app, OutboxMessage) == 1


def test_an_incomplete_submit_re_renders_the_form_with_errors_and_changes_nothing(
        app, client, auth, world, htmx_headers):
    auth.login_as("candidate")
    url = f"/my/applications/{world['draft']}"
    response = client.post(url, data={"title": "T", "action": "submit"}, headers=htmx_headers)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<form id="application-form"')
    assert "This field is required to submit." in body
    assert "Confirm that your answers are accurate." in body
    assert _count(app, StatusChange) == 0 and _count(app, OutboxMessage) == 0


def test_a_replayed_submit_is_refused_with_a_message_and_queues_nothing_more(
        app, client, auth, world, htmx_headers):
    auth.login_as("candidate")
    url = f"/my/applications/{world['draft']}"
    asked = client.post(url, data={**FORM, "action": "submit"}, headers=htmx_headers)
    assert asked.status_code == 200
    assert asked.get_data(as_text=True).lstrip().startswith('<section id="submit-confirm"')
    first = client.post(f"{url}/submit", headers=htmx_headers)
    assert first.status_code == 200 and first.headers["HX-Redirect"].endswith(f"{url}/receipt")
    again = client.post(f"{url}/submit", headers=htmx_headers)
    assert again.headers["HX-Redirect"].endswith(url)
    assert "already submitted" in client.get(url).get_data(as_text=True)
    edited = client.post(url, data={**FORM, "action": "submit"}, headers=htmx_headers)
    assert edited.status_code == 422
    assert "already submitted" in edited.get_data(as_text=True)
    assert _count(app, OutboxMessage) == 1 and _count(app, StatusChange) == 1


def test_the_receipt_and_the_confirmed_submit_are_the_candidates_own(
        app, client, auth, world):
    auth.login_as("candidate")
    draft = f"/my/applications/{world['draft']}"
    assert client.get(f"{draft}/receipt").headers["Location"].endswith(draft)  # not yet
    for url in (f"/my/applications/{world['theirs']}/receipt",
                f"/my/applications/{world['theirs'] + 1000}/receipt"):
        assert client.get(url).status_code == 404
    assert client.post(f"/my/applications/{world['theirs']}/submit").status_code == 404
    # The confirmed step checks completeness again: an empty draft is not submitted.
    refused = client.post(f"{draft}/submit", follow_redirects=True)
    assert "This field is required to submit." in refused.get_data(as_text=True)
    assert _count(app, StatusChange) == 0 and _count(app, OutboxMessage) == 0


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_candidate_guessing_ids_sees_nothing(app, client, auth, world, method):
    auth.login_as("candidate")
    for guess in (world["theirs"], world["theirs"] + 1000):
        response = getattr(client, method)(f"/my/applications/{guess}",
                                           data={**FORM, "action": "submit"})
        assert response.status_code == 404
    with app.app_context():
        theirs = _db.session.get(Application, world["theirs"])
        assert theirs.title == "My project"
    assert _count(app, OutboxMessage) == 0


def test_staff_following_the_email_link_land_on_the_manager_view(client, auth, world):
    auth.login_as("manager")
    response = client.get(f"/my/applications/{world['theirs']}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/applications/{world['theirs']}")


def test_anonymous_visitors_are_sent_to_sign_in(client, world):
    for url in (f"/my/applications/{world['draft']}", "/my/applications"):
        assert "/auth/login" in client.get(url).headers["Location"]
    assert "/auth/login" in client.post(f"/apply/{world['campaign']}/start").headers["Location"]


# --- manager / evaluator ------------------------------------------------------------------

STAFF_URLS = [
    ("get", "/applications/campaigns/{campaign}"),
    ("get", "/applications/campaigns/{campaign}/status/preview?status={accepted}&scope=all"),
    ("post", "/applications/campaigns/{campaign}/status"),
    ("get", "/applications/{theirs}"),
    ("get", "/applications/{theirs}/activity"),
    ("get", "/applications/{theirs}/status/preview?status={accepted}"),
    ("post", "/applications/{theirs}/status"),
]


@pytest.mark.parametrize("method,url", STAFF_URLS)
@pytest.mark.parametrize("role,expected", [
    ("candidate", 403), ("other-eval", 403), ("evaluator", 200), ("manager", 200),
    ("admin", 200),
])
def test_who_may_see_and_change_applications(app, client, auth, world, method, url, role,
                                             expected):
    auth.login_as(role)
    data = {"status": world["accepted"], "scope": "all", "ids": [world["theirs"]]}
    response = getattr(client, method)(url.format(**world), data=data)
    if expected == 200:
        assert response.status_code in (200, 303)
    else:
        assert response.status_code == expected
        assert _count(app, StatusChange) == 0


@pytest.mark.parametrize("url", [u for _m, u in STAFF_URLS if "status" not in u])
def test_anonymous_staff_urls_go_to_sign_in(client, world, url):
    assert "/auth/login" in client.get(url.format(**world)).headers["Location"]


def test_the_list_filters_searches_and_pages_by_keyset(app, client, auth, world):
    with app.app_context():
        campaign = _db.session.get(factories.Campaign, world["campaign"])
        for _n in range(55):
            factories.make_application(campaign, status_code="under_review")
        special = factories.make_user(Role.CANDIDATE, email="zora@example.org",
                                      first_name="Zora", last_name="Neale")
        factories.make_application(campaign, special, status_code="submitted")
        reference = factories.make_application(campaign, status_code="accepted").reference
        _db.session.commit()
        under_review = factories.status("under_review").id
    auth.login_as("evaluator")
    url = f"/applications/campaigns/{world['campaign']}"
    first = client.get(f"{url}?status={under_review}").get_data(as_text=True)
    assert "55 applications match." in first
    assert first.count('name="ids"') == 50
    after = re.search(r'after=(\d+)', first).group(1)
    second = client.get(f"{url}?status={under_review}&after={after}").get_data(as_text=True)
    assert second.count('name="ids"') == 5 and "Next page" not in second
    assert "First page" in second
    assert "zora@example.org" in client.get(f"{url}?q=neale").get_data(as_text=True)
    by_ref = client.get(f"{url}?q={reference.lower()}").get_data(as_text=True)
    assert "1 application matches." in by_ref and reference in by_ref


def test_htmx_filter_returns_the_list_fragment(client, auth, world, htmx_headers):
    auth.login_as("manager")
    response = client.get(f"/applications/campaigns/{world['campaign']}?q=x",
                          headers=htmx_headers)
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="applications-list">') and "<html" not in body


def test_a_single_status_change_by_htmx_returns_the_panel_and_the_event(
        app, client, auth, world, htmx_headers):
    auth.login_as("evaluator")
    url = f"/applications/{world['theirs']}"
    preview = client.get(f"{url}/status/preview?status={world['accepted']}")
    assert "1 application will move to Accepted." in preview.get_data(as_text=True)
    assert "template “Welcome aboard” → 2 recipients" in preview.get_data(as_text=True)

    response = client.post(f"{url}/status", headers=htmx_headers,
                           data={"status": world["accepted"], "comment": "Well done"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="status-panel"')
    assert "1 application moved to Accepted. 2 emails queued." in body
    assert "statusChanged" in json.loads(response.headers["HX-Trigger"])

    activity = client.get(f"{url}/activity").get_data(as_text=True)
    assert "Well done" in activity and activity.count("Welcome aboard") == 0
    assert activity.count("queued") == 2


def test_an_invalid_status_change_is_a_422_and_changes_nothing(app, client, auth, world,
                                                               htmx_headers):
    auth.login_as("manager")
    response = client.post(f"/applications/{world['theirs']}/status", headers=htmx_headers,
                           data={"status": ""})
    assert response.status_code == 422
    assert "This field is required." in response.get_data(as_text=True)
    assert _count(app, StatusChange) == 0


def test_a_plain_status_change_redirects_with_a_message(client, auth, world):
    auth.login_as("manager")
    response = client.post(f"/applications/{world['theirs']}/status",
                           data={"status": world["accepted"]})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 application moved to Accepted. 2 emails queued." in page


def test_bulk_preview_then_change_of_all_matching_the_filter(app, client, auth, world,
                                                             htmx_headers):
    with app.app_context():
        campaign = _db.session.get(factories.Campaign, world["campaign"])
        for _n in range(3):
            factories.make_application(campaign, status_code="submitted")
        _db.session.commit()
        submitted = factories.status("submitted").id
    auth.login_as("manager")
    base = f"/applications/campaigns/{world['campaign']}/status"
    query = {"status": world["accepted"], "scope": "all", "list_status": submitted}
    preview = client.get(f"{base}/preview", query_string=query, headers=htmx_headers)
    text = preview.get_data(as_text=True)
    assert "4 applications will move to Accepted." in text
    assert "8 emails will be queued:" in text

    response = client.post(base, data={**query, "comment": ""}, headers=htmx_headers)
    assert response.status_code == 200
    location = json.loads(response.headers["HX-Location"])
    assert location["target"] == "#applications-list"
    assert _count(app, StatusChange) == 4
    assert _count(app, OutboxMessage) == 8
    listing = client.get(location["path"], headers=htmx_headers).get_data(as_text=True)
    assert "4 applications moved to Accepted. 8 emails queued." in listing


def test_bulk_change_of_selected_rows_only(app, client, auth, world):
    auth.login_as("manager")
    response = client.post(f"/applications/campaigns/{world['campaign']}/status",
                           data={"status": world["accepted"], "scope": "selected",
                                 "ids": [world["theirs"]]})
    assert response.status_code == 303
    assert _count(app, StatusChange) == 1
    with app.app_context():
        assert _db.session.get(Application, world["draft"]).status.code == "draft"


def test_a_bulk_change_without_a_status_is_refused(app, client, auth, world):
    auth.login_as("manager")
    response = client.post(f"/applications/campaigns/{world['campaign']}/status",
                           data={"scope": "all"})
    assert response.status_code == 422
    assert _count(app, StatusChange) == 0


def test_a_post_without_the_csrf_token_is_refused(make_app, users, world):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    response = client.post(f"/applications/{world['theirs']}/status",
                           data={"status": world["accepted"]})
    assert response.status_code == 400
    assert _count(app, StatusChange) == 0


def test_only_open_published_campaigns_are_listed_and_only_candidates_may_apply(
        app, client, auth, world):
    with app.app_context():
        factories.make_campaign(label="Closed call", opens_in_days=-30, closes_in_days=-1)
        factories.make_campaign(label="Hidden call", published=False)
        factories.make_campaign(label="Future call", opens_in_days=5)
        _db.session.commit()
    page = client.get("/apply/").get_data(as_text=True)
    assert "Grants" in page and "Sign up to apply" in page
    for label in ("Closed call", "Hidden call", "Future call"):
        assert label not in page
    auth.login_as("manager")
    assert "Apply</button>" not in client.get("/apply/").get_data(as_text=True)
    assert client.post(f"/apply/{world['campaign']}/start").status_code == 403


def test_starting_on_a_closed_campaign_is_refused_with_a_message(app, client, auth, world):
    with app.app_context():
        closed = factories.make_campaign(label="Closed call", opens_in_days=-30,
                                         closes_in_days=-1).id
        _db.session.commit()
    auth.login_as("candidate")
    response = client.post(f"/apply/{closed}/start", follow_redirects=True)
    assert "This campaign is not accepting applications." in response.get_data(as_text=True)
    assert _count(app, Application, Application.campaign_id == closed) == 0


def test_submitting_after_the_closing_date_shows_why_and_changes_nothing(
        app, client, auth, world, monkeypatch):
    from webapp.core import clock

    with app.app_context():
        closes = _db.session.get(factories.Campaign, world["campaign"]).closes_at
    monkeypatch.setattr(clock, "now", lambda: closes + timedelta(seconds=1))
    auth.login_as("candidate")  # after the jump: sessions end after SESSION_MAX_HOURS
    response = client.post(f"/my/applications/{world['draft']}",
                           data={**FORM, "action": "submit"})
    assert response.status_code == 422
    assert "applications can no longer be submitted" in response.get_data(as_text=True)
    assert _count(app, StatusChange) == 0 and _count(app, OutboxMessage) == 0


def test_evaluators_see_only_the_campaigns_they_are_assigned_to(client, auth, world):
    auth.login_as("evaluator")
    page = client.get("/applications/").get_data(as_text=True)
    assert "Grants" in page and "Elsewhere" not in page
    auth.logout()
    auth.login_as("manager")
    page = client.get("/applications/").get_data(as_text=True)
    assert "Grants" in page and "Elsewhere" in page
