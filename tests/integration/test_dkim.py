"""DKIM: every message signed for DKIM_DOMAIN, verified here by dkimpy against the public key
(as the receiving end does from DNS); List-Unsubscribe-Post among the signed headers; a
missing key pauses sending as a configuration error."""

import base64

import dkim
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from jobs.drain import drain_once
from webapp import outbox
from webapp.extensions import db
from webapp.models.outbox import OutboxMessage


def _key(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "dkim.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    asked = []

    def dns(name, timeout=5):
        asked.append(name)
        return record if name == b"mail2026._domainkey.apply.example.org." else None

    return str(path), dns, asked


def test_every_message_is_signed_and_verifies_against_the_public_key(make_app, smtp, tmp_path):
    key_file, dns, asked = _key(tmp_path)
    app = make_app(DKIM_DOMAIN="apply.example.org", DKIM_SELECTOR="mail2026",
                   DKIM_PRIVATE_KEY_FILE=key_file, BOUNCE_ADDRESS="bounces@apply.example.org")
    with app.app_context():
        outbox.enqueue(key="r", to_addr="camille@example.org", to_name="Camille Lefèvre",
                       subject="Relance : dossier incomplet", body_html="<p>Déjà</p>",
                       body_text="Déjà", event_type="reminder")
        outbox.enqueue(key="a", to_addr="dominique@example.org", subject="Accusé",
                       body_html="<p>A</p>", body_text="A", event_type="submitted")
        # Folded headers (a long subject, a long name) and a single HTML part sign too.
        outbox.enqueue(key="f", to_addr="alexandre@example.org",
                       to_name="Alexandre-Marie de La Tour d'Auvergne " * 3,
                       subject="Votre dossier   « Projet de recherche sur les  réseaux » " * 3,
                       body_html="<p>Bonjour</p>\n\n\n", body_text="",
                       reply_to="secretariat@example.org", event_type="submitted")
        db.session.commit()
    assert drain_once(app, "w1")["sent"] == 3
    for received in smtp.messages:
        assert dkim.verify(received.data, dnsfunc=dns)
        signature = received["DKIM-Signature"]
        assert "d=apply.example.org" in signature and "s=mail2026" in signature
        signed = signature.split("h=")[1].split(";")[0].replace(" ", "").replace("\n", "")
        assert "list-unsubscribe-post" in signed and "from" in signed
    assert asked and set(asked) == {b"mail2026._domainkey.apply.example.org."}
    reminder = next(m for m in smtp.messages if m["List-Unsubscribe-Post"])
    # Changed on the way, it no longer verifies.
    tampered = reminder.data.replace(b"List-Unsubscribe=One-Click", b"List-Unsubscribe=Other")
    assert not dkim.verify(tampered, dnsfunc=dns)


def test_a_missing_key_pauses_sending_without_spending_attempts(make_app, smtp, tmp_path):
    app = make_app(DKIM_DOMAIN="apply.example.org", DKIM_SELECTOR="mail2026",
                   DKIM_PRIVATE_KEY_FILE=str(tmp_path / "missing.pem"))
    with app.app_context():
        outbox.enqueue(key="a", to_addr="dominique@example.org", subject="Accusé",
                       body_html="<p>A</p>", body_text="A")
        db.session.commit()
    report = drain_once(app, "w1")
    assert report["circuit_open"] and smtp.messages == []
    with app.app_context():
        row = db.session.scalars(sa.select(OutboxMessage)).one()
        assert (row.state, row.attempts) == ("pending", 0)
        assert "DKIM signing failed" in row.last_error


def test_a_key_that_loads_but_cannot_sign_ends_the_transaction_and_pauses(
        make_app, smtp, tmp_path):
    # The signature is made while the envelope's replies are on their way: a failure there
    # must leave nothing delivered and no transaction open.
    path = tmp_path / "ec.pem"
    path.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    app = make_app(DKIM_DOMAIN="apply.example.org", DKIM_SELECTOR="mail2026",
                   DKIM_PRIVATE_KEY_FILE=str(path))
    with app.app_context():
        outbox.enqueue(key="a", to_addr="dominique@example.org", subject="Accusé",
                       body_html="<p>A</p>", body_text="A")
        db.session.commit()
    report = drain_once(app, "w1")
    assert report["circuit_open"] and smtp.messages == []
    with app.app_context():
        row = db.session.scalars(sa.select(OutboxMessage)).one()
        assert (row.state, row.attempts) == ("pending", 0)
        assert "DKIM signing failed" in row.last_error
