"""A bulk change renders one email per recipient: its rendering must never hold SQLite's write
lock (a sign-in or the worker at the same moment would wait, then fail), and a whole request
has a time budget for rendering, past which the change is refused with nothing written.

Time is the only thing faked here: the rendering clock."""

import sqlite3
import time

import pytest
import sqlalchemy as sa

from tests import factories
from webapp.extensions import db as _db
from webapp.models import Application, StatusChange
from webapp.models.outbox import OutboxMessage
from webapp.services import templating


@pytest.fixture
def decision(app, users):
    """Three submitted applications and an automatic email when they are accepted."""
    with app.app_context():
        campaign = factories.make_campaign(label="Grants")
        applications = [factories.make_application(campaign, status_code="submitted")
                        for _ in range(3)]
        factories.make_trigger(campaign, factories.make_template(
            name="Decision", body_html="<p>Dear {{ candidate_name }}</p>"),
            to_status="accepted")
        _db.session.commit()
        return {"campaign": campaign.id, "ids": [a.id for a in applications],
                "accepted": factories.status("accepted").id}


def _change(client, decision):
    return client.post(f"/applications/campaigns/{decision['campaign']}/status",
                       data={"status": decision["accepted"], "scope": "selected",
                             "ids": decision["ids"]})


def _state(app):
    with app.app_context():
        return (_db.session.scalars(sa.select(Application.status_id).order_by(Application.id))
                .all(), _db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))),
                _db.session.scalar(sa.select(sa.func.count(StatusChange.id))))


def test_rendering_never_holds_the_write_lock(app, auth, client, decision, monkeypatch):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite"):
        pytest.skip("SQLite's lock is the whole database's")
    path = sa.engine.make_url(url).database
    refused = []

    def now_and_write():
        # What a sign-in or the worker does while the emails render: take the write lock.
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        except sqlite3.OperationalError as error:
            refused.append(str(error))
        finally:
            other.close()
        return time.monotonic()

    auth.login_as("admin")
    monkeypatch.setattr(templating, "_now", now_and_write)
    assert _change(client, decision).status_code == 303
    monkeypatch.undo()
    assert refused == []
    statuses, emails, history = _state(app)
    assert statuses == [decision["accepted"]] * 3 and emails == 3 and history == 3


def test_a_bulk_change_past_the_request_rendering_time_is_refused_and_changes_nothing(
        app, auth, client, decision, monkeypatch):
    auth.login_as("admin")
    before = _state(app)
    ticks = iter(range(0, 10**6, 6))  # each look at the clock: six seconds later
    monkeypatch.setattr(templating, "_now", lambda: float(next(ticks)))
    response = _change(client, decision)
    monkeypatch.undo()
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "takes too long" in page and "Nothing was changed" in page
    assert _state(app) == before
    # With time to spare, the same change goes through.
    assert _change(client, decision).status_code == 303
    assert _state(app)[1] == 3


def test_each_request_has_its_own_rendering_time(app, auth, client, monkeypatch):
    """The budget counts from a request's first render: an earlier request's does not
    count."""
    auth.login_as("manager")
    clock = {"now": 0.0}
    monkeypatch.setattr(templating, "_now", lambda: clock["now"])
    form = {"name": "X", "default_locale": "en", "subject_en": "Hi",
            "body_html_en": "<p>Hello {{ recipient_name }}</p>", "preview_locale": "en"}
    for _ in range(3):
        response = client.post("/email-templates/preview", data=form)
        assert "Hello Camille Martin" in response.get_data(as_text=True)
        clock["now"] += templating.REQUEST_SECONDS * 2


def _write_lock_probe(app, refused: list):
    path = sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database

    def now_and_write():
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        except sqlite3.OperationalError as error:
            refused.append(str(error))
        finally:
            other.close()
        return time.monotonic()

    return now_and_write


@pytest.mark.parametrize("event", ["submission", "reopening"])
def test_a_submission_and_a_reopening_render_before_they_write(app, users, monkeypatch, event):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite's lock is the whole database's")
    from webapp.models import EventType, User
    from webapp.services import applications

    with app.app_context():
        campaign = factories.make_campaign()
        slow = factories.make_template(
            body_html="<p>Dear {{ candidate_name }}</p>")
        if event == "submission":
            factories.make_trigger(campaign, slow, event=EventType.SUBMITTED)
            application = factories.make_application(campaign, confirmed=True)
        else:
            factories.make_trigger(campaign, slow, to_status="draft")
            application = factories.make_application(campaign, status_code="submitted")
        _db.session.commit()
        refused: list = []
        monkeypatch.setattr(templating, "_now", _write_lock_probe(app, refused))
        if event == "submission":
            applications.submit(application.candidate, application.id, applications.Answers(
                title="T", summary="S", motivation="M", confirmed=True))
        else:
            admin = _db.session.scalars(sa.select(User).where(
                User.email == "admin@example.org")).one()
            applications.reopen_for_changes(admin, application.id)
        monkeypatch.undo()
        assert refused == []
        assert _db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 1
