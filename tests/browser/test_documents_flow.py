"""Documents in Chromium, on a phone: the manager asks for them, the candidate sends them
(htmx, with progress) and reads the refusals; every screen axe-checked (the page fixture fails
on any violation, console error or 404) and no wider than 390 px."""

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.factories import PASSWORD
from webapp.extensions import db as _db
from webapp.models import RequestedDocument, Role

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


@pytest.fixture
def world(app, users):
    with app.app_context():
        campaign = factories.make_campaign(label="Bourses de recherche 2027")
        _db.session.add_all([
            RequestedDocument(campaign_id=campaign.id, name_fr="CV", name_en="CV",
                              required=True, kinds="pdf", max_size_mb=1, position=1),
            RequestedDocument(campaign_id=campaign.id, name_fr="Budget prévisionnel",
                              name_en="Budget", required=False, kinds="pdf,spreadsheet",
                              max_size_mb=1, position=2)])
        candidate = factories.make_user(Role.CANDIDATE, email="ada@example.org")
        draft = factories.make_application(campaign, candidate)
        _db.session.commit()
        return {"campaign": campaign.id, "draft": draft.id}


def _sign_in(page, email):
    page.goto("/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/login" not in url)


def _fits(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url} is {width} px wide"


def test_the_candidate_sends_files_and_reads_the_refusals(watched_page, world, tmp_path):
    page = watched_page(viewport=PHONE)
    _sign_in(page, "ada@example.org")
    page.goto(f"/my/applications/{world['draft']}")
    _fits(page)
    cv = page.locator("#documents li").filter(has_text="CV")
    exe = tmp_path / "cv.pdf"
    exe.write_bytes(b"MZ\x90\x00" + b"\x00" * 500)
    cv.get_by_label("Choose a file").set_input_files(str(exe))
    cv.get_by_role("button", name="Send the file").click()
    expect(page.get_by_text("This file is not of an accepted type (PDF)")).to_be_visible()
    big = tmp_path / "big.pdf"
    big.write_bytes(PDF + b"0" * (1024 * 1024))
    page.locator("#documents li").filter(has_text="CV").get_by_label("Choose a file") \
        .set_input_files(str(big))
    page.locator("#documents li").filter(has_text="CV") \
        .get_by_role("button", name="Send the file").click()
    expect(page.get_by_text("This file is larger than 1 MB")).to_be_visible()
    good = tmp_path / "Mon CV été.pdf"
    good.write_bytes(PDF)
    page.locator("#documents li").filter(has_text="CV").get_by_label("Choose a file") \
        .set_input_files(str(good))
    page.locator("#documents li").filter(has_text="CV") \
        .get_by_role("button", name="Send the file").click()
    expect(page.get_by_role("link", name="Mon CV été.pdf")).to_be_visible()
    expect(page.locator("#documents li").filter(has_text="CV")
           .get_by_label("Replace the file")).to_be_visible()
    _fits(page)


def test_the_manager_asks_for_a_document_and_writes_a_letter(watched_page, world):
    page = watched_page(viewport=PHONE)
    _sign_in(page, "manager@example.org")
    page.goto(f"/campaigns/{world['campaign']}/documents")
    _fits(page)
    page.get_by_label("Name in French").fill("Lettre de soutien")
    page.get_by_label("Name in English").fill("Letter of support")
    page.get_by_label("PDF").check()
    page.get_by_role("button", name="Add the document").click()
    expect(page.locator("#requested-documents")).to_contain_text("Letter of support")
    _fits(page)
    page.goto("/letter-templates/new")
    _fits(page)
    page.goto("/letter-templates/attachments")
    _fits(page)
