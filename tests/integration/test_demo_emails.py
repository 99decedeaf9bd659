"""Every email of the demo platform, as the real SMTP server received it: its plain-text part
reads like the HTML one, in the recipient's language."""

import io
import re

import sqlalchemy as sa

from jobs.drain import drain_once
from webapp.core import clock
from webapp.extensions import db
from webapp.models import Application, Campaign, Role, Status, User
from webapp.services import applications, demo, documents
from webapp.services.users import create_user, find_by_email


def _give_cv(candidate, application) -> None:
    """The demo's open call requires a CV before submitting."""
    cv = next(r for r in documents.requested_documents(application.campaign_id) if r.required)
    documents.upload(candidate, application.id, cv.id, "cv.pdf",
                     io.BytesIO(b"%PDF-1.4\n%%EOF\n"))


def _text(received) -> str:
    return received.message.get_body(("plain",)).get_content()


def test_the_demo_emails_read_correctly_in_their_text_part(app, smtp):
    with app.app_context():
        demo.seed_demo()
        campaign = db.session.scalar(sa.select(Campaign).where(
            Campaign.label == "Bourses de recherche 2027"))
        sam = find_by_email("sam@example.org")  # English, a draft
        camille = find_by_email("camille@example.org")  # French, under review
        draft = db.session.scalar(sa.select(Application).where(Application.candidate_id == sam.id))
        _give_cv(sam, draft)
        applications.submit(sam, draft.id, applications.Answers(
            title="Bees", summary="Summary", motivation="Why", confirmed=True))
        lea = create_user("lea@example.org", "Léa", "Petit", "a-strong-pass-1",
                          [Role.CANDIDATE], "fr")
        lea.email_confirmed_at = clock.now()  # candidates confirm their address first
        started = applications.start_application(lea, campaign.id)
        _give_cv(lea, started)
        applications.submit(lea, started.id, applications.Answers(
            title="Abeilles", summary="Résumé", motivation="Pourquoi", confirmed=True))
        manager = find_by_email("manager@missive.example.org")
        accepted = db.session.scalar(sa.select(Status).where(Status.code == "accepted"))
        rejected = db.session.scalar(sa.select(Status).where(Status.code == "rejected"))
        reviewed = db.session.scalar(sa.select(Application).where(
            Application.candidate_id == camille.id))
        applications.change_status(manager, reviewed.id, accepted.id)
        applications.change_status(manager, draft.id, rejected.id)
        references = {user.email: db.session.scalar(sa.select(Application.reference).where(
            Application.candidate_id == user.id)) for user in db.session.scalars(sa.select(User))}
        assert campaign is not None

    assert drain_once(app)["sent"] == 4
    by_subject = {m.message["Subject"]: (m.rcpt_tos, _text(m)) for m in smtp.messages}
    url = re.compile(r"http://missive\.test/my/applications/\d+")

    to, text = by_subject["Acknowledgement of receipt: Bourses de recherche 2027"]
    assert to == ["sam@example.org"]
    assert (f"We have received your application {references['sam@example.org']} to the "
            "campaign “Bourses de recherche 2027”.") in " ".join(text.split())
    assert url.search(text) and "here: http" in text

    to, text = by_subject["Accusé de réception : Bourses de recherche 2027"]
    assert to == ["lea@example.org"]
    flat = " ".join(text.split())
    assert (f"Nous avons bien reçu votre candidature {references['lea@example.org']} à la "
            "campagne « Bourses de recherche 2027 ».") in flat
    assert re.search(r"Vous pouvez suivre son statut ici : http://missive\.test/my/applications/"
                     r"\d+ L'équipe Missive -- Vous recevez cet e-mail au sujet de votre "
                     r"candidature", flat)

    to, text = by_subject["Décision sur votre candidature : Accepté"]
    assert to == ["camille@example.org"]
    flat = " ".join(text.split())
    assert (f"Votre candidature {references['camille@example.org']} à la campagne « Bourses de "
            "recherche 2027 » a désormais le statut Accepté.") in flat
    assert re.search(r"dans votre dossier \(http://missive\.test/my/applications/\d+\)\.", flat)
    assert flat.startswith("Bonjour Camille Martin,")
    accepted_email = next(r for r in smtp.messages
                          if r["Subject"] == "Décision sur votre candidature : Accepté")
    [letter] = list(accepted_email.message.iter_attachments())
    assert letter.get_filename() == \
        f"Lettre d'acceptation - {references['camille@example.org']}.pdf"
    assert letter.get_content().startswith(b"%PDF-")

    to, text = by_subject["Decision on your application: Rejected"]
    assert to == ["sam@example.org"]
    assert "now has the status Rejected." in " ".join(text.split())
