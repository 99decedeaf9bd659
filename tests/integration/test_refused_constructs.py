"""Every construct that could slip raw HTML past the sanitiser, reach for other files, or
capture what a template writes (and so change an account email's link before it is shown) is
refused by the template syntax's allow-list when the template is saved: with a message that
names it, and nothing saved."""

from html import unescape

import pytest
import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import EmailTemplate, EmailTemplateVersion
from webapp.services import account_emails

INCLUDES = "Including, extending or importing other templates is not allowed."
# Raw HTML past the sanitiser, or other files.
UNSAFE = [
    ('{{ "<script>x</script>"|safe }}', "unknown filter “safe”"),
    ("{{ candidate_name|safe }}", "unknown filter “safe”"),
    ("{% autoescape false %}{{ candidate_name }}{% endautoescape %}",
     "Turning autoescaping off is not allowed."),
    ('{% include "base.html" %}', INCLUDES),
    ('{% extends "base.html" %}', INCLUDES),
    ('{% import "macros.html" as m %}', INCLUDES),
    ('{% from "macros.html" import m %}', INCLUDES),
]
# What a template writes, captured (or a name rebound) so that a link could be changed.
CAPTURING = [
    ("{% macro m() %}{{ action_url }}{% endmacro %}{{ m() }}", "the “macro” tag"),
    ("{% call m() %}{{ action_url }}{% endcall %}", "the “call” tag"),
    ("{% filter upper %}{{ action_url }}{% endfilter %}", "the “filter” tag"),
    ("{% set link %}{{ action_url }}{% endset %}{{ link }}", "the “set” tag"),
    ("{% block b %}{{ action_url }}{% endblock %}", "the “block” tag"),
    ('{% set action_url = "x" %}{{ action_url }}', "the “set” tag"),
    ("{% for action_url in [1] %}{{ action_url }}{% endfor %}", "the “for” tag"),
]


def _count_templates() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(EmailTemplate))


@pytest.mark.parametrize(("body", "message"), UNSAFE)
def test_a_campaign_template_with_an_unsafe_construct_is_refused_by_name(app, client, auth,
                                                                        body, message):
    auth.login_as("manager")
    response = client.post("/email-templates/new", data={
        "name": "Decision", "default_locale": "fr", "subject_fr": "Décision",
        "body_html_fr": f"<p>Bonjour</p>{body}", "body_text_fr": ""})
    assert response.status_code == 422
    page = unescape(response.get_data(as_text=True))
    assert message in page
    with app.app_context():
        assert _count_templates() == 0


@pytest.mark.parametrize(("body", "message"), CAPTURING)
def test_an_account_email_that_captures_its_link_is_refused_by_name(app, client, auth, users,
                                                                   body, message):
    with app.app_context():
        template = account_emails.ensure_system_templates()[account_emails.PASSWORD_RESET]
        db.session.commit()
        template_id, name = template.id, template.name
        locales = [v.locale for v in template.versions]

    def bodies():
        with app.app_context():
            return sorted(db.session.scalars(sa.select(EmailTemplateVersion.body_html).where(
                EmailTemplateVersion.template_id == template_id)))

    before = bodies()
    data = {"template_id": str(template_id), "name": name, "default_locale": locales[0]}
    for locale in locales:
        data |= {f"subject_{locale}": "Reset", f"body_html_{locale}": f"<p>{body}</p>",
                 f"body_text_{locale}": ""}
    auth.login_as("admin")
    response = client.post(f"/email-templates/{template_id}", data=data)
    assert response.status_code == 422
    page = unescape(response.get_data(as_text=True))
    assert f"Line 1: {message} is not allowed in an email template." in page
    assert bodies() == before
