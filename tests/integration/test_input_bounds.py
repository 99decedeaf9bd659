"""Malformed input is a 404 or a 422 with a message, on both databases: ids beyond the INTEGER
columns, non-numeric parameters, control characters, impossible dates."""

import pytest
import sqlalchemy as sa

from tests import factories
from webapp.extensions import db as _db
from webapp.models import Application, Campaign, User


@pytest.mark.parametrize("url", ["/campaigns/2147483648", "/campaigns/9223372036854775808",
                                 "/applications/99999999999999999999999",
                                 "/email-templates/2147483648/delete"])
def test_an_id_beyond_the_integer_columns_is_a_404(client, auth, url):
    auth.login_as("admin")
    assert client.get(url).status_code == 404


def test_out_of_range_and_non_numeric_parameters_are_ignored_or_refused(app, client, auth):
    with app.app_context():
        campaign = factories.make_campaign(label="Grants")
        _db.session.commit()
        campaign_id = campaign.id
    auth.login_as("admin")
    for query in ("after=9223372036854775808", "status=abc", "status=99999999999"):
        assert client.get(f"/applications/campaigns/{campaign_id}?{query}").status_code == 200
    assert client.get("/outbox/?before=99999999999999&trigger=99999999999").status_code \
        in (200, 422)
    response = client.post("/email-templates/send-test", data={"template_id": "abc"})
    assert response.status_code == 422
    assert b"This template does not exist." in response.data


def test_control_characters_are_refused_in_names_with_a_message(app, client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = client.post("/auth/signup", data={
        "first_name": "Ada\x00", "last_name": "Love\x1blace", "email": "ada@example.org",
        "password": "correct horse 42 battery", "confirm": "correct horse 42 battery"})
    assert response.status_code in (200, 422)
    text = response.get_data(as_text=True)
    assert text.count("This field contains a control character that is not allowed.") == 2
    with app.app_context():
        assert _db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_control_characters_are_removed_from_free_text(app, client, auth):
    with app.app_context():
        candidate = _db.session.scalars(sa.select(User).where(
            User.email == "candidate@example.org")).one()
        draft = factories.make_application(factories.make_campaign(), candidate)
        _db.session.commit()
        draft_id = draft.id
    auth.login_as("candidate")
    response = client.post(f"/my/applications/{draft_id}", data={
        "title": "Tide pools", "summary": "A\x00 study\x07", "motivation": "Line one\nline two",
        "action": "save"})
    assert response.status_code == 303
    with app.app_context():
        saved = _db.session.get(Application, draft_id)
        assert (saved.summary, saved.motivation) == ("A study", "Line one\nline two")


@pytest.mark.parametrize("opens_at", ["0001-01-01T00:00", "9999-12-31T23:59", "2026-02-30T10:00"])
def test_an_impossible_campaign_date_is_refused_next_to_the_field(app, client, auth, opens_at):
    auth.login_as("manager")
    response = client.post("/campaigns/new", data={
        "label": "Grants", "description": "", "opens_at": opens_at,
        "closes_at": "2030-02-01T00:00", "published": "y"})
    assert response.status_code == 422
    assert b"Not a valid date" in response.data or b"Not a valid datetime value" in response.data
    with app.app_context():
        assert _db.session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 0


def test_refusals_that_reach_the_app_are_pages_with_their_status(make_app):
    from webapp.core.errors import NotAllowed, NotFound, ValidationFailed

    app = make_app.unshared()  # routes of its own: an app no other test shares

    def raising(error):
        def view():
            raise error
        return view

    app.add_url_rule("/t/missing", "missing", raising(NotFound()))
    app.add_url_rule("/t/refused", "refused", raising(NotAllowed()))
    app.add_url_rule("/t/invalid", "invalid", raising(ValidationFailed("Too many cooks.")))
    app.add_url_rule("/t/database", "database", raising(
        sa.exc.DataError("INSERT", {}, ValueError("integer out of range"))))
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert client.get("/t/missing").status_code == 404
    assert client.get("/t/refused").status_code == 403
    invalid = client.get("/t/invalid")
    assert invalid.status_code == 422 and b"Too many cooks." in invalid.data
    database = client.get("/t/database")
    assert database.status_code == 422
    assert b"Some of what you sent is not valid: nothing was saved." in database.data
