import re

import pytest
import sqlalchemy as sa

from tests import factories
from webapp.models import AuditEntry, Status, User

ROUTES = [("get", "/statuses/"), ("post", "/statuses/"), ("get", "/statuses/1"),
          ("post", "/statuses/1"), ("post", "/statuses/3/delete")]
NEW = {"label_en": "Shortlisted", "label_fr": "Présélectionné", "colour": "#0e7490",
       "position": "7"}


def _status(db, code):
    return db.session.scalar(sa.select(Status).where(Status.code == code))


@pytest.mark.parametrize("method,path", ROUTES)
@pytest.mark.parametrize("role", ["evaluator", "candidate"])
def test_only_platform_managers_manage_statuses(auth, client, db, method, path, role):
    auth.login_as(role)
    before = [(s.label_en, s.label_fr) for s in db.session.scalars(sa.select(Status))]
    response = getattr(client, method)(path, data=NEW)
    assert response.status_code == 403
    db.session.expire_all()
    assert [(s.label_en, s.label_fr) for s in db.session.scalars(sa.select(Status))] == before


@pytest.mark.parametrize("method,path", ROUTES)
def test_anonymous_users_are_sent_to_sign_in(client, method, path):
    response = getattr(client, method)(path, data=NEW)
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_a_manager_adds_a_status(auth, client, db):
    auth.login_as("manager")
    response = client.post("/statuses/", data=NEW)
    assert response.status_code == 303
    status = _status(db, "shortlisted")
    assert (status.label_fr, status.colour, status.position) == ("Présélectionné", "#0e7490", 7)
    assert "Shortlisted" in client.get("/statuses/").get_data(as_text=True)
    assert db.session.scalar(sa.select(AuditEntry.action)
                            .where(AuditEntry.object_type != "user")) == "status.saved"


def test_the_required_statuses_can_be_renamed_but_not_deleted(auth, client, db):
    auth.login_as("manager")
    submitted = _status(db, "submitted")
    response = client.post(f"/statuses/{submitted.id}", data=dict(
        NEW, label_en="Received", label_fr="Reçu", position="1"))
    assert response.status_code == 303
    response = client.post(f"/statuses/{submitted.id}/delete", follow_redirects=True)
    assert "rename them instead" in response.get_data(as_text=True)
    db.session.expire_all()
    assert _status(db, "submitted").label_fr == "Reçu"


def test_a_status_in_use_cannot_be_deleted_and_an_unused_one_can(auth, client, db):
    campaign = factories.make_campaign()
    factories.make_application(campaign, status_code="accepted")
    db.session.commit()
    auth.login_as("manager")
    accepted, rejected = _status(db, "accepted"), _status(db, "rejected")
    page = client.post(f"/statuses/{accepted.id}/delete", follow_redirects=True)
    assert "cannot be deleted" in page.get_data(as_text=True)
    client.post(f"/statuses/{rejected.id}/delete")
    db.session.expire_all()
    assert _status(db, "accepted") is not None
    assert _status(db, "rejected") is None


@pytest.mark.parametrize("field,value,message", [
    ("label_en", "Accepted", "Another status already has this name."),
    ("colour", "red", "A colour like #2563eb."),
    ("label_fr", "Oui\nnon", "Line breaks are not allowed"),
])
def test_bad_input_is_refused_next_to_the_field_and_changes_nothing(
        auth, client, db, htmx_headers, field, value, message):
    auth.login_as("manager")
    count = db.session.scalar(sa.select(sa.func.count(Status.id)))
    response = client.post("/statuses/", data=dict(NEW, **{field: value}), headers=htmx_headers)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert f'id="{field}-errors"' in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Status.id))) == count


@pytest.mark.parametrize("locale,badge,plain", [("fr", "Envoyé", "Submitted"),
                                                ("en", "Submitted", "Envoyé")])
def test_the_status_badges_read_in_the_readers_language(auth, client, db, locale, badge, plain):
    manager = db.session.scalar(sa.select(User).where(User.email == "manager@example.org"))
    manager.locale = locale
    db.session.commit()
    auth.login_as("manager")
    html = client.get("/statuses/").get_data(as_text=True)
    row = html[html.index(f'<tr id="status-{_status(db, "submitted").id}"'):]
    row = row[:row.index("</tr>")]
    assert re.search(rf'class="badge status-badge"[^>]*>{badge}</span>', row)
    assert f">{plain}</span>" not in row and plain in row
