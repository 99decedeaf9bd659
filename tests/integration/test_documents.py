"""Requested documents: the manager's tab, the candidate's uploads (checked by content, size
and name), the "what is missing" list of submitting, and the permission-checked downloads."""

import io
import zipfile

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests import factories
from webapp.core import storage
from webapp.extensions import db as _db
from webapp.models import ApplicationDocument, RequestedDocument, Role

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 400


@pytest.fixture
def world(app, users):
    with app.app_context():
        manager = _db.session.get(factories.User, users["manager"])
        evaluator = _db.session.get(factories.User, users["evaluator"])
        candidate = _db.session.get(factories.User, users["candidate"])
        campaign = factories.make_campaign(label="Grants", managers=[manager],
                                           evaluators=[evaluator])
        other_manager = factories.make_user(Role.MANAGER, email="other-manager@example.org")
        other_campaign = factories.make_campaign(label="Other", managers=[other_manager])
        cv = RequestedDocument(campaign_id=campaign.id, name_fr="CV", name_en="CV",
                               required=True, kinds="pdf", max_size_mb=1, position=1)
        budget = RequestedDocument(campaign_id=campaign.id, name_fr="Budget prévisionnel",
                                   name_en="Budget", required=False, kinds="pdf,spreadsheet",
                                   max_size_mb=2, position=2)
        _db.session.add_all([cv, budget])
        application = factories.make_application(campaign, candidate, title="Río")
        application.summary, application.motivation = "Summary", "Because"
        other_candidate = factories.make_user(Role.CANDIDATE, email="other@example.org")
        other_application = factories.make_application(campaign, other_candidate)
        _db.session.commit()
        return dict(campaign=campaign.id, other_campaign=other_campaign.id, cv=cv.id,
                    budget=budget.id, application=application.id,
                    other_application=other_application.id)


def multipart(data: bytes, name: str, field: str = "file") -> dict:
    """A multipart body built in memory (the test client's own spills to an unclosed
    temporary file past 500 KB)."""
    boundary, body = encode_multipart({field: FileStorage(io.BytesIO(data), filename=name,
                                                           content_type="application/pdf")})
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def _upload(client, world, requested="cv", data=PDF, name="cv.pdf", headers=None,
            application="application"):
    return client.post(f"/my/applications/{world[application]}/documents/{world[requested]}",
                       headers=headers or {}, **multipart(data, name))


def _given(app) -> list[ApplicationDocument]:
    with app.app_context():
        return list(_db.session.scalars(sa.select(ApplicationDocument)))


def _stored(app) -> list[str]:
    with app.app_context():
        return storage.from_config(app.config, app.instance_path).all_hashes()


# --- the manager's tab --------------------------------------------------------------------


def test_a_manager_asks_for_a_document_on_the_documents_tab(client, auth, world, app):
    auth.login_as("manager")
    page = client.get(f"/campaigns/{world['campaign']}/documents")
    assert page.status_code == 200 and b"Requested documents" in page.data
    response = client.post(f"/campaigns/{world['campaign']}/documents", data={
        "name_fr": "Lettre de soutien", "name_en": "Letter of support", "required": "y",
        "kinds": ["pdf", "word_processing"], "max_size_mb": "3"})
    assert response.status_code == 303
    with app.app_context():
        added = _db.session.scalar(sa.select(RequestedDocument).where(
            RequestedDocument.name_en == "Letter of support"))
        assert added.kind_list == ["pdf", "word_processing"] and added.max_size_mb == 3


def test_a_requested_document_without_a_type_is_refused_next_to_the_field(client, auth, world,
                                                                          app):
    auth.login_as("manager")
    response = client.post(f"/campaigns/{world['campaign']}/documents", data={
        "name_fr": "Devis", "name_en": "Quote", "max_size_mb": "3"})
    assert response.status_code == 422
    assert b"Choose at least one type of file." in response.data
    with app.app_context():
        assert _db.session.scalar(sa.select(sa.func.count(RequestedDocument.id))) == 2


def test_a_candidate_or_an_evaluator_cannot_open_the_documents_tab(client, auth, world):
    for role in ("candidate", "evaluator"):
        auth.login_as(role)
        assert client.get(f"/campaigns/{world['campaign']}/documents").status_code == 403
        auth.logout()


def test_a_document_a_candidate_gave_cannot_be_deleted(client, auth, world, app):
    auth.login_as("candidate")
    assert _upload(client, world).status_code == 303
    auth.logout()
    auth.login_as("manager")
    response = client.post(
        f"/campaigns/{world['campaign']}/documents/{world['cv']}/delete", follow_redirects=True)
    assert b"cannot be deleted" in response.data
    assert len(_given(app)) == 1


# --- the candidate's uploads --------------------------------------------------------------


def test_the_form_offers_one_upload_per_document_without_scripts(client, auth, world):
    auth.login_as("candidate")
    page = client.get(f"/my/applications/{world['application']}").get_data(as_text=True)
    assert page.count('enctype="multipart/form-data"') == 2
    assert 'accept=".pdf"' in page and "<progress" in page
    assert "Budget" in page and "Required" in page and "Optional" in page


def test_a_pdf_is_kept_by_its_hash_and_shown_on_the_form(client, auth, world, app):
    auth.login_as("candidate")
    response = _upload(client, world)
    assert response.status_code == 303
    given = _given(app)
    assert [(d.filename, d.content_type, d.size) for d in given] == [
        ("cv.pdf", "application/pdf", len(PDF))]
    assert _stored(app) == [given[0].sha256]
    page = client.get(f"/my/applications/{world['application']}").get_data(as_text=True)
    assert "cv.pdf" in page and "Replace the file" in page


def test_with_htmx_the_answer_is_the_documents_row(client, auth, world, htmx_headers):
    auth.login_as("candidate")
    response = _upload(client, world, headers=htmx_headers)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith(f'<li id="document-{world["cv"]}"') and "cv.pdf" in body


def test_a_file_is_replaced_while_the_application_is_a_draft(client, auth, world, app):
    auth.login_as("candidate")
    _upload(client, world)
    _upload(client, world, data=PDF + b"% second version\n", name="cv-v2.pdf")
    given = _given(app)
    assert [d.filename for d in given] == ["cv-v2.pdf"]


@pytest.mark.parametrize(("data", "name", "message"), [
    (EXE, "cv.pdf", "not of an accepted type (PDF)"),
    (b"", "cv.pdf", "This file is empty"),
    (PDF + b"0" * (1024 * 1024), "cv.pdf", "larger than 1 MB"),
    (PDF, "../../etc/cv.pdf", "must not contain a folder path"),
])
def test_bad_files_are_refused_with_a_clear_message_and_nothing_kept(client, auth, world, app,
                                                                      htmx_headers, data, name,
                                                                      message):
    auth.login_as("candidate")
    response = _upload(client, world, data=data, name=name, headers=htmx_headers)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _given(app) == [] and _stored(app) == []
    # Without scripts: back to the form, the same message above it.
    page = _upload(client, world, data=data, name=name)
    assert page.status_code == 303
    assert message in client.get(page.headers["Location"]).get_data(as_text=True)


def test_a_body_past_the_platform_limit_is_refused_before_it_is_read(make_app, users, world,
                                                                       htmx_headers):
    app = make_app(DOCUMENTS_MAX_FILE_MB=1)
    client = app.test_client()
    client.post("/auth/login", data={"email": "candidate@example.org",
                                     "password": factories.PASSWORD})
    response = client.post(
        f"/my/applications/{world['application']}/documents/{world['budget']}",
        headers=htmx_headers, **multipart(PDF + b"0" * (2 * 1024 * 1024), "budget.pdf"))
    assert response.status_code == 422
    assert "larger than 1 MB" in response.get_data(as_text=True)


def test_the_application_total_is_limited(make_app, users, world, htmx_headers):
    app = make_app(DOCUMENTS_MAX_APPLICATION_MB=1)
    client = app.test_client()
    client.post("/auth/login", data={"email": "candidate@example.org",
                                     "password": factories.PASSWORD})
    assert _upload(client, world, data=PDF + b"0" * 700_000).status_code == 303
    response = _upload(client, world, requested="budget", data=PDF + b"1" * 700_000,
                       headers=htmx_headers)
    assert response.status_code == 422
    assert "past its total of 1 MB" in response.get_data(as_text=True)


def test_the_file_name_is_given_the_extension_of_its_content(client, auth, world, app):
    auth.login_as("candidate")
    _upload(client, world, name="mon CV\x07 été")
    assert [d.filename for d in _given(app)] == ["mon CV été.pdf"]


def test_submitting_lists_a_missing_required_document(client, auth, world, app):
    auth.login_as("candidate")
    answers = {"title": "Río", "summary": "Summary", "motivation": "Because",
               "confirmed": "y", "action": "submit"}
    refused = client.post(f"/my/applications/{world['application']}", data=answers)
    assert refused.status_code == 422
    assert "The document “CV” is required to submit." in refused.get_data(as_text=True)
    _upload(client, world)
    asked = client.post(f"/my/applications/{world['application']}", data=answers)
    assert asked.status_code == 200
    done = client.post(f"/my/applications/{world['application']}/submit")
    assert done.status_code == 303 and "/receipt" in done.headers["Location"]
    # Submitted: the files can no longer change.
    late = _upload(client, world, data=PDF + b"% late\n", headers={"HX-Request": "true"})
    assert late.status_code == 422 and "already submitted" in late.get_data(as_text=True)


def test_another_application_cannot_be_given_files(client, auth, world, app):
    auth.login_as("candidate")
    assert _upload(client, world, application="other_application").status_code == 404
    assert _given(app) == []


# --- downloads ----------------------------------------------------------------------------


def _status(client, url: str) -> int:
    response = client.get(url)
    response.close()
    return response.status_code


def _document_id(app) -> int:
    return _given(app)[0].id


def test_the_candidate_and_the_assigned_staff_download_it_as_an_attachment(client, auth, world,
                                                                           app):
    auth.login_as("candidate")
    _upload(client, world, name="CV Zoé.pdf")
    url = f"/applications/{world['application']}/documents/{_document_id(app)}"
    for role in ("candidate", "manager", "evaluator", "admin"):
        auth.logout()
        auth.login_as(role)
        response = client.get(url)
        assert response.status_code == 200, role
        assert response.data == PDF
        assert response.headers["Content-Type"] == "application/pdf"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment;")
        assert "filename*=UTF-8''CV%20Zo%C3%A9.pdf" in disposition
        response.close()


def test_another_campaigns_manager_and_another_candidate_are_refused(client, auth, world, app):
    auth.login_as("candidate")
    _upload(client, world)
    document_id = _document_id(app)
    urls = [f"/applications/{world['application']}/documents/{document_id}",
            f"/applications/{world['application']}/documents.zip"]
    auth.logout()
    auth.login("other-manager@example.org")
    assert [_status(client, url) for url in urls] == [403, 403]
    auth.logout()
    auth.login("other@example.org")
    assert [_status(client, url) for url in urls] == [404, 404]
    # A document id under another application's id names nothing.
    assert client.get(f"/applications/{world['other_application']}/documents/"
                      f"{document_id}").status_code == 404
    auth.logout()
    assert client.get(urls[0]).status_code in (302, 401)


def test_the_application_page_links_each_file_and_the_zip(client, auth, world, app):
    auth.login_as("candidate")
    _upload(client, world)
    _upload(client, world, requested="budget", name="budget.pdf", data=PDF + b"% budget\n")
    auth.logout()
    auth.login_as("manager")
    page = client.get(f"/applications/{world['application']}").get_data(as_text=True)
    assert "cv.pdf" in page and "budget.pdf" in page and "documents.zip" in page
    response = client.get(f"/applications/{world['application']}/documents.zip")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert sorted(archive.namelist()) == ["Budget-budget.pdf", "CV-cv.pdf"]
    assert archive.read("CV-cv.pdf") == PDF
    response.close()


def test_the_purge_removes_a_replaced_file_and_keeps_the_given_ones(client, auth, world, app):
    import os
    import time

    from jobs import documents as documents_job

    auth.login_as("candidate")
    _upload(client, world)
    first = _given(app)[0].sha256
    _upload(client, world, data=PDF + b"% second\n", name="cv-v2.pdf")
    second = _given(app)[0].sha256
    assert sorted(_stored(app)) == sorted([first, second])
    # A file younger than a day may be an upload being committed: kept.
    assert documents_job.purge(app) == 0
    store = storage.from_config(app.config, app.instance_path)
    old = time.time() - 2 * 24 * 3600
    for sha256 in (first, second):
        os.utime(store._path(sha256), (old, old))
    assert documents_job.purge(app) == 1
    assert _stored(app) == [second]


def test_the_demo_call_asks_for_a_cv_and_a_budget(app, db):
    from webapp.models import Campaign, LetterTemplate
    from webapp.services import demo, documents

    demo.seed_demo()
    demo.seed_demo()  # idempotent
    campaign = _db.session.scalar(sa.select(Campaign).where(
        Campaign.label == "Bourses de recherche 2027"))
    asked = [(r.name_fr, r.required, r.kind_list) for r in
             documents.requested_documents(campaign)]
    assert asked == [("CV", True, ["pdf"]),
                     ("Budget prévisionnel", False, ["pdf", "spreadsheet"])]
    assert _db.session.scalar(sa.select(sa.func.count(LetterTemplate.id))) == 1


def test_a_duplicated_campaign_asks_for_the_same_documents(client, auth, world, app):
    auth.login_as("manager")
    response = client.post(f"/campaigns/{world['campaign']}/duplicate")
    assert response.status_code == 303
    copy_id = int(response.headers["Location"].split("/")[-2])
    with app.app_context():
        from webapp.services import documents

        assert [(r.name_en, r.required, r.kinds) for r in
                documents.requested_documents(copy_id)] == [
            ("CV", True, "pdf"), ("Budget", False, "pdf,spreadsheet")]


def test_the_screens_speak_french(client, auth, world, app, users):
    with app.app_context():
        for user_id in users.values():
            _db.session.get(factories.User, user_id).locale = "fr"
        _db.session.commit()
    auth.login_as("candidate")
    refused = _upload(client, world, data=EXE, headers={"HX-Request": "true"})
    assert "n’est pas d’un type accepté (PDF)" in refused.get_data(as_text=True)
    page = client.get(f"/my/applications/{world['application']}").get_data(as_text=True)
    assert "Budget prévisionnel" in page and "Facultatif" in page and "Choisir un fichier" in page
    auth.logout()
    auth.login_as("manager")
    tab = client.get(f"/campaigns/{world['campaign']}/documents").get_data(as_text=True)
    assert "Documents demandés" in tab and "Tableur (XLSX, ODS, XLS)" in tab
    for path in ("/letter-templates/", "/letter-templates/new", "/letter-templates/attachments"):
        assert client.get(path).status_code == 200, path
