"""The text part of an email is derived once from the HTML template, not from each recipient's
rendered HTML: both ways must give the same text."""

import pytest

from tests import factories
from webapp.services import templating
from webapp.services.automatic_emails import rendering
from webapp.services.email_templates import DEFAULT_ACKNOWLEDGEMENT

SOURCES = [body for _subject, body in DEFAULT_ACKNOWLEDGEMENT.values()] + [
    "<p>Dear {{ candidate_name }},</p><ul><li>{{ status_label }}</li><li>{{ campaign_label }}"
    "</li></ul><p><a href=\"{{ application_url }}\">Open</a> &amp; reply</p>",
]


@pytest.mark.parametrize("body_html", SOURCES)
def test_the_derived_text_template_gives_the_text_of_the_rendered_html(db, body_html):
    campaign = factories.make_campaign(label="Grants & <Prizes>")
    candidate = factories.make_user(email="ana@example.org", first_name="Ana & Co")
    application = factories.make_application(campaign, candidate, status_code="submitted")
    ctx = templating.context_for(application, "Ana & Co", "ana@example.org", "en",
                                 new_status=factories.status("accepted"))
    from_html = templating.render_email("S", body_html, "", ctx).text
    from_template = templating.render_email(
        "S", body_html, rendering.text_source(body_html, ""), ctx).text
    assert from_template == from_html
    assert "Grants & <Prizes>" in from_template


def test_a_written_text_part_is_used_as_it_is(db):
    assert rendering.text_source("<p>x</p>", "Plain {{ candidate_name }}") == \
        "Plain {{ candidate_name }}"


def test_an_html_entity_that_looks_like_a_placeholder_stays_text(db):
    body = "<p>Write &#123;&#123; nope &#125;&#125; to us, {{ candidate_name }}</p>"
    assert rendering.text_source(body, "") == ""  # derived from each rendered email instead
    campaign = factories.make_campaign()
    application = factories.make_application(campaign, status_code="submitted")
    ctx = templating.context_for(application, "Ana", "ana@example.org", "en")
    text = templating.render_email("S", body, rendering.text_source(body, ""), ctx).text
    assert text.startswith("Write {{ nope }} to us, Camille")
