"""Letters rendered to PDF: placeholders from the sandbox, accents kept by the embedded font,
and nothing a template names is ever read from disk or fetched."""

import http.server
import io
import threading
from dataclasses import replace
from datetime import date

import pytest
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from tests import factories
from webapp.extensions import db as _db
from webapp.services import letters, templating
from webapp.services.templating import TemplateProblem


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def ctx(app, db):
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        campaign = factories.make_campaign(label="Bourses d’été")
        candidate = factories.make_user(first_name="Zoé", last_name="Łukasz-Müller")
        application = factories.make_application(campaign, candidate, status_code="accepted")
        _db.session.commit()
        yield templating.context_for(application, candidate.name, candidate.email, "fr")


LAYOUT = letters.Layout(platform_name="Fondation Écrins", address="12 rue des Près\n05000 Gap",
                        signature="La directrice, Hélène", footer="Fondation Écrins · Gap")


def test_a_letter_carries_the_placeholders_with_their_accents(ctx):
    body = ("<p>Chère {{ candidate_name }},</p><p>Votre dossier <strong>"
            "{{ application_reference }}</strong> pour « {{ campaign_label }} » est accepté."
            "</p><ul><li>Première étape</li></ul>")
    pdf = letters.render_pdf(body, ctx, LAYOUT, letter_date=date(2027, 3, 31))
    assert pdf.startswith(b"%PDF-")
    text = _text(pdf)
    assert "Zoé Łukasz-Müller" in text
    assert ctx.application.reference in text
    assert "Bourses d’été" in text and "Première étape" in text
    assert "31 mars 2027" in text
    assert "La directrice, Hélène" in text and "12 rue des Près" in text


def test_an_unknown_placeholder_is_a_problem_not_a_crash(ctx):
    with pytest.raises(TemplateProblem):
        letters.render_pdf("<p>{{ nobody_knows }}</p>", ctx, LAYOUT)


class _Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802
        _Recorder.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server():
    _Recorder.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_nothing_a_template_names_is_read_or_fetched(ctx, local_server):
    url = f"http://127.0.0.1:{local_server}/logo.png"
    body = (f'<p>Bonjour</p><img src="file:///etc/passwd"><img src="{url}">'
            f'<img src="/etc/passwd"><link rel="stylesheet" href="{url}">'
            f'<object data="file:///etc/passwd"></object><iframe src="{url}"></iframe>'
            f'<svg><image href="file:///etc/passwd"/></svg>'
            f'<p style="background:url({url})"><font face="/etc/passwd">x</font></p>'
            f'<a href="file:///etc/passwd">passwd</a>')
    pdf = letters.render_pdf(body, ctx, LAYOUT)
    assert _Recorder.requests == []
    assert b"root:" not in pdf
    text = _text(pdf)
    assert "Bonjour" in text and "root:" not in text
    assert b"file:" not in pdf and url.encode() not in pdf


def test_such_a_template_is_refused_when_saved_with_a_clear_message():
    problems = letters.source_problems('<p>Hi</p><img src="file:///etc/passwd">')
    assert problems and "cannot show images" in problems[0]
    assert letters.source_problems('<a href="file:///etc/passwd">x</a>')
    assert letters.source_problems("<p>Chère {{ candidate_name }}</p>") == []


# --- letter templates, on their screens ---------------------------------------------------

LETTER = {"name": "Lettre d’acceptation", "default_locale": "fr",
          "title_fr": "Acceptation de votre dossier {{ application_reference }}",
          "body_fr": "<p>Chère {{ candidate_name }}, votre dossier est accepté.</p>",
          "title_en": "", "body_en": "", "preview_locale": "fr"}


def test_a_manager_writes_a_letter_template_and_previews_it(client, auth, app):
    auth.login_as("manager")
    assert client.get("/letter-templates/new").status_code == 200
    created = client.post("/letter-templates/new", data=LETTER)
    assert created.status_code == 303
    assert "Lettre d’acceptation" in client.get("/letter-templates/").get_data(as_text=True)
    preview = client.post("/letter-templates/preview.pdf", data=LETTER)
    assert preview.status_code == 200 and preview.mimetype == "application/pdf"
    assert "votre dossier est accepté" in _text(preview.data)


@pytest.mark.parametrize(("body", "message"), [
    ('<p>Hi</p><img src="file:///etc/passwd">', "cannot show images"),
    ('<p><a href="file:///etc/passwd">x</a></p>', "cannot link to files"),
    ("<p>{{ secret_key }}</p>", "Unknown placeholder: secret_key"),
])
def test_a_bad_letter_template_is_refused_next_to_its_body(client, auth, app, body, message):
    auth.login_as("manager")
    response = client.post("/letter-templates/new", data=LETTER | {"body_fr": body})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert "Lettre d’acceptation" not in client.get("/letter-templates/").get_data(as_text=True)
    preview = client.post("/letter-templates/preview.pdf", data=LETTER | {"body_fr": body})
    assert preview.status_code == 422


def test_only_platform_managers_edit_letter_templates(client, auth):
    for role in ("candidate", "evaluator"):
        auth.login_as(role)
        assert client.get("/letter-templates/").status_code == 403
        assert client.post("/letter-templates/new", data=LETTER).status_code == 403
        auth.logout()


def _embedded_fonts(pdf: bytes) -> list[TTFont]:
    fonts = []
    for font in PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]["/Font"].values():
        descendant = font.get_object()["/DescendantFonts"][0].get_object()
        data = descendant["/FontDescriptor"]["/FontFile2"].get_data()
        fonts.append(TTFont(io.BytesIO(data)))
    return fonts


@pytest.mark.parametrize("name", ["Zoé Łukasz-Müller", "Вера Иванова", "Ζωή Παππά"])
def test_letters_in_a_row_each_carry_their_own_name_in_a_valid_font_subset(ctx, name):
    body = "<p>Chère {{ candidate_name }}, <em>bienvenue</em> !</p><ul><li>Étape</li></ul>"
    def letter_to(who):
        return letters.render_pdf(body, replace(ctx, recipient_name=who,
                                                sample={"candidate_name": who}), LAYOUT)

    first, second = letter_to(name), letter_to("Anaïs Øster")
    assert f"Chère {name}," in _text(first) and "Anaïs Øster" not in _text(first)
    assert "Chère Anaïs Øster," in _text(second) and name not in _text(second)
    for pdf, drawn in ((first, name), (second, "Anaïs Øster")):
        fonts = _embedded_fonts(pdf)
        # Each embedded font is a small subset; every letter of the name has its outline.
        assert fonts and all(len(font.getGlyphOrder()) < 200 for font in fonts)
        outlined = {code for font in fonts
                    for code, glyph in font.getBestCmap().items()
                    if font["glyf"][glyph].numberOfContours}
        assert {ord(char) for char in drawn if not char.isspace()} <= outlined
