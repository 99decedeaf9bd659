"""The emails' look: the platform's name, logo and postal address around every email, set by
an administrator only (audited); the logo served by the platform itself."""

import base64

import pytest
import sqlalchemy as sa

from tests import factories
from webapp.extensions import db
from webapp.models import AuditEntry, User
from webapp.services import branding, templating

# A 1×1 PNG.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGA"
                       "WjR9awAAAABJRU5ErkJggg==")


@pytest.mark.parametrize("role", [None, "candidate", "evaluator", "manager"])
def test_only_an_administrator_sets_the_look(client, auth, users, role):
    if role:
        auth.login_as(role)
    for response in (client.get("/brand/"),
                     client.post("/brand/", data={"platform_name": "Hijacked"})):
        assert response.status_code in (302, 303, 403)
    assert "Hijacked" not in client.get("/auth/login").get_data(as_text=True)


def test_the_admin_sets_name_address_and_logo_and_every_email_wears_them(
        app, client, auth, users):
    auth.login_as("admin")
    assert client.get("/brand/").status_code == 200
    bad = client.post("/brand/", data={"platform_name": "Fondation", "logo": (
        __import__("io").BytesIO(b"<svg></svg>"), "logo.svg")},
        content_type="multipart/form-data")
    assert bad.status_code == 422 and "PNG, JPEG or GIF" in bad.get_data(as_text=True)
    saved = client.post("/brand/", data={
        "platform_name": "Fondation des océans", "postal_address": "1 quai des Marins\n29200 Brest",
        "logo": (__import__("io").BytesIO(PNG), "logo.png")}, content_type="multipart/form-data")
    assert saved.status_code == 303
    with app.app_context():
        brand = branding.current()
        assert brand.name == "Fondation des océans"
        assert brand.logo_url.startswith(app.config["BASE_URL"].rstrip("/") + "/brand/logo/")
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "branding.updated")) == 1
        campaign = factories.make_campaign(label="Bourses")
        application = factories.make_application(campaign)
        db.session.commit()
        candidate = application.candidate
        ctx = templating.context_for(application, candidate.name, candidate.email, "fr")
        email = templating.render_email("Objet", "<p>Bonjour <b>{{ recipient_name }}</b></p>",
                                        "", ctx)
        manager = db.session.scalars(sa.select(User).where(
            User.email == "manager@example.org")).one()
        staff = templating.render_email("Objet", "<p>Bonjour</p>", "", templating.context_for(
            application, manager.name, manager.email, "en"))
        reference = application.reference
    client.post("/auth/logout")
    logo = client.get(brand.logo_url.removeprefix(app.config["BASE_URL"].rstrip("/")))
    assert logo.status_code == 200 and logo.data == PNG and logo.mimetype == "image/png"
    assert client.get("/brand/logo/not-the-digest").status_code == 404
    # The HTML part: a sans-serif layout, inline styles only, the message as written inside.
    assert "<p>Bonjour <b>" in email.html and "sans-serif" in email.html
    assert "<style" not in email.html and f'src="{brand.logo_url}"' in email.html
    assert "Fondation des océans" in email.html and "1 quai des Marins · 29200 Brest" in email.html
    assert f"votre candidature {reference}" in email.html
    assert "take part in the campaign Bourses" in staff.html
    # The text part gets the footer.
    assert email.text.startswith("Bonjour")
    assert f"votre candidature {reference}" in email.text and "29200 Brest" in email.text


def test_a_preview_wears_the_layout(app, client, auth, users):
    from html import unescape

    auth.login_as("admin")
    client.post("/brand/", data={"platform_name": "Fondation", "postal_address": "Brest"})
    response = client.post("/email-templates/preview", headers={"HX-Request": "true"}, data={
        "name": "Accusé", "default_locale": "fr", "subject_fr": "Reçu",
        "body_html_fr": "<p>Bonjour {{ recipient_name }}</p>", "body_text_fr": "",
        "subject_en": "", "body_html_en": "", "body_text_en": "", "preview_locale": "fr"})
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert "Fondation · Brest" in html and "Bonjour" in html and "sans-serif" in html


def test_a_preview_shows_the_logos_text_not_a_refused_image(app):
    from webapp.services import html_policy

    with app.app_context():
        ctx = templating.context_for(None, "Ada", "ada@example.org", "en")
        html, _text = branding.wrap("<p>Hi</p>", "Hi", ctx, branding.Brand(
            "Fondation", "", app.config["BASE_URL"] + "/brand/logo/abc"))
    assert 'src="' in html
    preview = html_policy.for_preview(html)
    assert "/brand/logo/abc" not in preview and 'alt="Fondation"' in preview
