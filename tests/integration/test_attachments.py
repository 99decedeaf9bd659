"""Automatic emails carrying the candidate's documents and generated letters: frozen when
queued, sent as multipart/mixed through the real drain to the real SMTP server, the same bytes
on a retry and a resend."""

import io
import re

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from jobs.drain import drain_once
from tests import factories
from tests.outbox_support import clock_fixture  # noqa: F401
from webapp import outbox
from webapp.extensions import db as _db
from webapp.models import LetterTemplate, OutboxAttachment, Reminder, Role
from webapp.models.outbox import OutboxMessage
from webapp.services import applications, documents, letters, reminders

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


@pytest.fixture(autouse=True)
def in_french(app, db):
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        yield


@pytest.fixture
def world(db):
    admin = factories.make_user(Role.ADMIN, email="root@example.org")
    manager = factories.make_user(Role.MANAGER, email="boss@example.org")
    campaign = factories.make_campaign(label="Bourses d’été", managers=[manager])
    cv = documents.RequestedDocument(campaign_id=campaign.id, name_fr="CV", name_en="CV",
                                     required=True, kinds="pdf", max_size_mb=1)
    _db.session.add(cv)
    candidate = factories.make_user(Role.CANDIDATE, email="zoe@example.org", first_name="Zoé",
                                    last_name="Müller", locale="fr")
    application = factories.make_application(campaign, candidate)
    _db.session.commit()
    documents.upload(candidate, application.id, cv.id, "CV Zoé.pdf", io.BytesIO(PDF))
    application.status = factories.status("submitted")
    letter = LetterTemplate(name="Lettre d’acceptation", default_locale="fr",
                            title_fr="Acceptation", body_fr="<p>Chère {{ candidate_name }}, "
                            "votre dossier {{ application_reference }} est retenu.</p>")
    template = factories.make_template(name="Accepté", subject="Décision")
    _db.session.add(letter)
    factories.make_trigger(campaign, template, to_status="accepted")
    _db.session.commit()
    letters.set_attachments(manager, template, [letter.id], ["pdf"])
    return dict(admin=admin, manager=manager, application=application, letter=letter,
                template=template)


def _accept(world):
    return applications.change_status(world["manager"], world["application"].id,
                                      factories.status("accepted").id)


def _files(data: bytes) -> dict[str, bytes]:
    from email import message_from_bytes, policy

    message = message_from_bytes(data, policy=policy.default)
    assert message.get_content_type() == "multipart/mixed"
    return {part.get_filename(): part.get_content() for part in message.iter_attachments()}


def _pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_accepted_email_carries_the_letter_and_the_cv(app, world, smtp):
    _accept(world)
    row = _db.session.scalar(sa.select(OutboxMessage))
    frozen = _db.session.scalars(sa.select(OutboxAttachment).order_by(
        OutboxAttachment.position)).all()
    reference = world["application"].reference
    assert [a.filename for a in frozen] == ["CV Zoé.pdf",
                                            f"Lettre d’acceptation - {reference}.pdf"]
    drain_once(app)
    [received] = smtp.messages
    files = _files(received.data)
    assert files["CV Zoé.pdf"] == PDF
    letter = files[f"Lettre d’acceptation - {reference}.pdf"]
    text = _pdf_text(letter)
    assert "Chère Zoé Müller" in text and reference in text
    # The message's own parts are still there, inside the mixed one.
    assert "Décision" in received["Subject"]
    assert received.message.get_body(("html",)) is not None
    # RFC 2231 names and base64 lines of at most 76 characters.
    assert b"filename*=utf-8''Lettre%20d%E2%80%99acceptation" in received.data
    lines = received.data.split(b"\r\n")
    assert max(len(line) for line in lines if re.fullmatch(rb"[A-Za-z0-9+/=]+", line)) == 76
    assert row.id


def test_a_retry_and_a_resend_send_the_bytes_of_the_first_attempt(app, world, smtp):
    attempts = []

    def refuse_first(received):
        attempts.append(received.data)
        return "451 4.3.0 Try again later" if len(attempts) == 1 else None

    smtp.handler.data_reply = refuse_first
    _accept(world)
    drain_once(app)
    row = _db.session.scalar(sa.select(OutboxMessage))
    _db.session.refresh(row)
    assert row.state == "pending" and smtp.messages == []
    # The letter's template changes meanwhile: what was queued does not.
    world["letter"].body_fr = "<p>Un tout autre texte.</p>"
    _db.session.commit()
    outbox.retry_now(world["admin"], row.id)
    drain_once(app)
    [delivered] = smtp.messages
    assert _files(delivered.data) == _files(attempts[0])
    _db.session.expire_all()
    outbox.resend(world["admin"], row.id)
    drain_once(app)
    assert len(smtp.messages) == 2
    assert _files(smtp.messages[1].data) == _files(attempts[0])
    assert "Un tout autre texte" not in _pdf_text(
        next(v for k, v in _files(smtp.messages[1].data).items() if k.startswith("Lettre")))


def test_a_reminder_carries_its_letter_and_a_retry_sends_the_same_bytes(app, world, smtp,
                                                                       clock):
    clock.freeze()
    campaign = world["application"].campaign
    draft = factories.make_application(campaign, factories.make_user(
        Role.CANDIDATE, email="leo@example.org", first_name="Léo", last_name="Dupré",
        locale="fr"))
    nudge = factories.make_template(name="Relance", subject="Bientôt fermé")
    _db.session.add(Reminder(campaign=campaign, kind="before_closing", template=nudge,
                             offset_amount=3, offset_unit="days", to_candidate=True))
    _db.session.commit()
    letters.set_attachments(world["manager"], nudge, [world["letter"].id], [])
    attempts = []

    def refuse_first(received):
        attempts.append(received.data)
        return "451 4.3.0 Try again later" if len(attempts) == 1 else None

    smtp.handler.data_reply = refuse_first
    clock.advance(days=28)
    assert [report.queued for report in reminders.run()] == [1]
    [row] = _db.session.scalars(sa.select(OutboxMessage)
                                .where(OutboxMessage.event_type == "reminder")).all()
    assert [a.filename for a in outbox.attachments_of([row.id])[row.id]] == [
        f"Lettre d’acceptation - {draft.reference}.pdf"]
    drain_once(app)
    assert smtp.messages == []
    # The letter's template changes meanwhile: what the reminder queued does not.
    world["letter"].body_fr = "<p>Un tout autre texte.</p>"
    _db.session.commit()
    outbox.retry_now(world["admin"], row.id)
    drain_once(app)
    [delivered] = smtp.messages
    assert delivered.rcpt_tos == ["leo@example.org"]
    files = _files(delivered.data)
    assert files == _files(attempts[0])
    text = _pdf_text(files[f"Lettre d’acceptation - {draft.reference}.pdf"])
    assert "Léo Dupré" in text and draft.reference in text
    assert "Un tout autre texte" not in text


def test_a_letter_that_cannot_be_made_fails_the_email_not_the_decision(app, world, smtp):
    world["letter"].body_fr = "<p>{{ candidate_name / 0 }}</p>"
    _db.session.commit()
    _accept(world)
    _db.session.expire_all()
    assert world["application"].status.code == "accepted"
    row = _db.session.scalar(sa.select(OutboxMessage))
    assert row.state == "failed"
    assert "Lettre d’acceptation" in row.last_error
    drain_once(app)
    assert smtp.messages == []


def test_without_attachments_an_email_is_as_before(app, world, smtp):
    letters.set_attachments(world["manager"], world["template"], [], [])
    _accept(world)
    drain_once(app)
    [received] = smtp.messages
    assert received.message.get_content_type() != "multipart/mixed"
    assert _db.session.scalar(sa.select(sa.func.count(OutboxAttachment.id))) == 0


def test_a_manager_chooses_the_attachments_of_an_email_template(app, world, client, users):
    client.post("/auth/login", data={"email": "boss@example.org",
                                     "password": factories.PASSWORD})
    page = client.get("/letter-templates/attachments")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Accepté" in body and "Lettre d’acceptation" in body
    template_id = world["template"].id
    saved = client.post(f"/letter-templates/attachments/{template_id}",
                        data={"kinds": ["spreadsheet"]})
    assert saved.status_code == 303
    _db.session.expire_all()
    rules = letters.attachment_rules(template_id)
    assert [(r.letter_template_id, r.document_kind) for r in rules] == [(None, "spreadsheet")]
    refused = client.post(f"/letter-templates/attachments/{template_id}",
                          data={"letters": ["999999"]})
    assert refused.status_code == 422
    client.post("/auth/logout")
    client.post("/auth/login", data={"email": "candidate@example.org",
                                     "password": factories.PASSWORD})
    assert client.get("/letter-templates/attachments").status_code == 403


def test_a_letter_still_attached_cannot_be_deleted(app, world, client, users):
    client.post("/auth/login", data={"email": "boss@example.org",
                                     "password": factories.PASSWORD})
    response = client.post(f"/letter-templates/{world['letter'].id}/delete",
                           follow_redirects=True)
    assert response.status_code == 200
    assert "attached to these email templates: Accepté" in response.get_data(as_text=True)
    assert _db.session.get(LetterTemplate, world["letter"].id) is not None


def test_the_purge_keeps_the_files_frozen_on_emails(app, world, smtp):
    import os
    import time

    from jobs import documents as documents_job
    from webapp.core import storage

    _accept(world)
    frozen = {a.sha256 for a in _db.session.scalars(sa.select(OutboxAttachment))}
    # The candidate's file is gone from the application; the email still names it.
    _db.session.execute(sa.delete(documents.ApplicationDocument))
    _db.session.commit()
    store = storage.from_config(app.config, app.instance_path)
    old = time.time() - 2 * 24 * 3600
    for sha256 in store.all_hashes():
        os.utime(store._path(sha256), (old, old))
    assert documents_job.purge(app) == 0
    assert set(store.all_hashes()) == frozen


def _login(client, email):
    client.post("/auth/logout")
    client.post("/auth/login", data={"email": email, "password": factories.PASSWORD})


def test_the_files_an_email_carried_are_listed_and_served_to_who_may_read_them(app, world,
                                                                              smtp, client):
    _accept(world)
    drain_once(app)
    row = _db.session.scalar(sa.select(OutboxMessage))
    reference = world["application"].reference
    letter_name = f"Lettre d’acceptation - {reference}.pdf"
    sent = _files(smtp.messages[0].data)
    url = f"/emails/{row.id}/attachments/1"
    # The Outbox page (admin) and the application's email history (staff).
    _login(client, "root@example.org")
    detail = client.get(f"/outbox/{row.id}").get_data(as_text=True)
    frozen = _db.session.scalars(sa.select(OutboxAttachment).order_by(
        OutboxAttachment.position)).all()
    assert letter_name in detail and frozen[1].sha256[:12] in detail
    response = client.get(url)
    assert response.data == sent[letter_name]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    response.close()
    _login(client, "boss@example.org")
    history = client.get(f"/applications/{world['application'].id}").get_data(as_text=True)
    assert letter_name in history
    # The candidate sees the letters they received on their application.
    _login(client, "zoe@example.org")
    page = client.get(f"/my/applications/{world['application'].id}").get_data(as_text=True)
    assert "Letters received" in page or "Courriers reçus" in page
    assert letter_name in page
    response = client.get(url)
    assert response.status_code == 200 and response.data == sent[letter_name]
    response.close()
    # Another candidate, another campaign's manager.
    factories.make_user(Role.CANDIDATE, email="other@example.org")
    factories.make_user(Role.MANAGER, email="elsewhere@example.org")
    _db.session.commit()
    _login(client, "other@example.org")
    assert client.get(url).status_code == 404
    _login(client, "elsewhere@example.org")
    assert client.get(url).status_code == 403


def test_over_the_size_budget_the_email_carries_signed_links(app, world, smtp, client):
    app.config["MAIL_MAX_MESSAGE_BYTES"] = 3000
    _accept(world)
    assert all(a.as_link for a in _db.session.scalars(sa.select(OutboxAttachment)))
    drain_once(app)
    [received] = smtp.messages
    assert received.message.get_content_type() != "multipart/mixed"
    assert list(received.message.iter_attachments()) == []
    text = received.message.get_body(("plain",)).get_content()
    assert "trop volumineux" in text
    links = re.findall(r"http://missive\.test(/files/\S+)", text)
    assert len(links) == 2
    response = client.get(links[0])
    assert response.status_code == 200 and response.data == PDF
    response.close()
    assert client.get(links[0][:-3] + "xyz").status_code == 404
    _login(client, "root@example.org")
    row = _db.session.scalar(sa.select(OutboxMessage))
    assert "sent as a download link" in client.get(f"/outbox/{row.id}").get_data(as_text=True)


def test_send_me_a_test_carries_the_templates_letters(app, world, smtp):
    from webapp.services import email_templates

    template = world["template"]
    email_templates.send_test(world["manager"], email_templates.input_from(template), "fr",
                              template=template)
    drain_once(app)
    [received] = smtp.messages
    files = _files(received.data)
    [name] = [n for n in files if n.startswith("Lettre d’acceptation")]
    assert "votre dossier" in _pdf_text(files[name])
    # With an application: what its real email would carry, the candidate's CV included.
    smtp.reset()
    email_templates.send_test(world["manager"], email_templates.input_from(template), "fr",
                              application=world["application"], template=template)
    drain_once(app)
    assert "CV Zoé.pdf" in _files(smtp.messages[0].data)


def test_a_test_whose_letter_cannot_be_made_is_refused_with_the_reason(app, world, smtp):
    from webapp.core.errors import ValidationFailed
    from webapp.services import email_templates

    world["letter"].body_fr = "<p>{{ candidate_name / 0 }}</p>"
    _db.session.commit()
    with pytest.raises(ValidationFailed, match="Lettre d’acceptation"):
        email_templates.send_test(world["manager"],
                                  email_templates.input_from(world["template"]), "fr",
                                  template=world["template"], application=world["application"])
    assert _db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0


def test_the_previews_say_what_the_email_attaches(app, world, client, users):
    _login(client, "boss@example.org")
    trigger_id = _db.session.scalar(sa.select(factories.Trigger.id))
    campaign_id = world["application"].campaign_id
    page = client.get(f"/campaigns/{campaign_id}/triggers/{trigger_id}/preview")
    body = page.get_data(as_text=True)
    assert "The letter “Lettre d’acceptation” (PDF, made for each application)" in body
    assert "The candidate&#39;s documents of type PDF" in body \
        or "The candidate's documents of type PDF" in body


def test_a_preview_opens_its_letter_made_for_the_chosen_application(app, world, client, users):
    _login(client, "boss@example.org")
    trigger_id = _db.session.scalar(sa.select(factories.Trigger.id))
    application = world["application"]
    page = client.get(f"/campaigns/{application.campaign_id}/triggers/{trigger_id}/preview")
    [link] = re.findall(r'href="(/letter-templates/\d+/sample\.pdf[^"]*)"',
                        page.get_data(as_text=True))
    sample = client.get(link.replace("&amp;", "&"))
    assert sample.status_code == 200 and sample.mimetype == "application/pdf"
    assert sample.headers["Content-Disposition"].startswith("inline")
    assert sample.headers["X-Content-Type-Options"] == "nosniff"
    assert "votre dossier" in _pdf_text(sample.data)  # example values
    made = client.get(f"/letter-templates/{world['letter'].id}/sample.pdf"
                      f"?locale=fr&application={application.id}")
    assert made.status_code == 200
    assert application.reference in made.headers["Content-Disposition"]
    text = _pdf_text(made.data)
    assert "Zoé Müller" in text and application.reference in text
    # Nothing was stored for it.
    assert _db.session.scalar(sa.select(sa.func.count(OutboxAttachment.id))) == 0
    # Another campaign's manager may not have it made for this application; nor a candidate.
    factories.make_campaign(label="Autre", managers=[
        factories.make_user(Role.MANAGER, email="other@example.org")])
    _db.session.commit()
    _login(client, "other@example.org")
    assert client.get(f"/letter-templates/{world['letter'].id}/sample.pdf"
                      f"?application={application.id}").status_code == 403
    _login(client, "zoe@example.org")
    refused = client.get(f"/letter-templates/{world['letter'].id}/sample.pdf"
                         f"?application={application.id}")
    assert refused.status_code == 403 and refused.mimetype != "application/pdf"


def test_a_signed_email_with_files_verifies(make_app, smtp, tmp_path):
    """With DKIM on, the message is signed whole, its files included."""
    import dkim

    from tests.integration.test_dkim import _key

    key_file, dns, _ = _key(tmp_path)
    app = make_app(DKIM_DOMAIN="apply.example.org", DKIM_SELECTOR="mail2026",
                   DKIM_PRIVATE_KEY_FILE=key_file)
    with app.app_context():
        pdf = PDF + bytes(range(256)) * 400
        stored = documents.store().put(io.BytesIO(pdf))
        message = outbox.enqueue(key="signed", to_addr="zoe@example.org", subject="Décision",
                                 body_html="<p>Bonjour</p>", body_text="Bonjour",
                                 event_type="status_changed")
        _db.session.flush()
        outbox.add_attachments({message.message_id: [dict(
            sha256=stored.sha256, filename="Lettre d’acceptation.pdf",
            content_type="application/pdf", size=stored.size)]})
        _db.session.commit()
    assert drain_once(app)["sent"] == 1
    [received] = smtp.messages
    assert dkim.verify(received.data, dnsfunc=dns)
    assert _files(received.data) == {"Lettre d’acceptation.pdf": pdf}
