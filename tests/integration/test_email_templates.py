"""Email templates: validation, sanitising, versions, delete refusal, preview, test sends."""

import pytest
import sqlalchemy as sa

from tests import factories
from webapp.extensions import db as _db
from webapp.models import AuditEntry, EmailTemplate, EventType, OutboxPriority, User
from webapp.models.outbox import OutboxMessage
from webapp.services import email_templates
from webapp.services.email_templates import TemplateInput, VersionInput


def _form(**overrides) -> dict:
    data = {
        "name": "Decision", "default_locale": "fr", "sender_name": "Grants office",
        "reply_to": "grants@example.org", "cc": "", "bcc": "",
        "subject_fr": "Décision : {{ campaign_label }}",
        "body_html_fr": ('<p>Bonjour {{ recipient_name }}</p>'
                         '<a href="{{ application_url }}">ici</a>'),
        "body_text_fr": "",
        "subject_en": "Decision: {{ campaign_label }}",
        "body_html_en": "<p>Hello {{ recipient_name }}</p>",
        "body_text_en": "",
    }
    data.update(overrides)
    return data


def _count(model) -> int:
    return _db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_manager_creates_a_template_in_two_languages(app, client, auth):
    auth.login_as("manager")
    response = client.post("/email-templates/new", data=_form())
    assert response.status_code == 303
    with app.app_context():
        template = email_templates.find_by_name("Decision")
        assert {v.locale for v in template.versions} == {"fr", "en"}
        assert template.version_for("en").subject == "Decision: {{ campaign_label }}"
        assert template.version_for("de").locale == "fr"  # falls back to the default language
        assert 'href="{{ application_url }}"' in template.version_for("fr").body_html
        assert template.reply_to == "grants@example.org"
        entry = _db.session.scalars(sa.select(AuditEntry)
                                    .where(AuditEntry.object_type != "user")).one()
        assert (entry.action, entry.object_id) == ("email_template.created", template.id)


def test_an_unknown_placeholder_is_refused_by_name_and_nothing_is_saved(app, client, auth):
    auth.login_as("manager")
    response = client.post("/email-templates/new",
                           data=_form(body_html_fr="<p>{{ candiate_name }}</p>"))
    assert response.status_code == 422
    assert b"Unknown placeholder: candiate_name" in response.data
    with app.app_context():
        assert _count(EmailTemplate) == 0


def test_a_syntax_error_is_refused_with_its_line(app, client, auth):
    auth.login_as("manager")
    response = client.post("/email-templates/new",
                           data=_form(body_html_en="<p>one</p>\n{% if %}"))
    assert response.status_code == 422
    assert b"Syntax error on line 2" in response.data


def test_header_fields_refuse_line_breaks_and_bad_addresses(app, client, auth):
    auth.login_as("manager")
    response = client.post("/email-templates/new", data=_form(
        subject_fr="Hello\nBcc: victim@example.org", reply_to="not an address",
        cc="a@example.org, nope", sender_name="Office\r\nX-Evil: 1"))
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert text.count("Line breaks are not allowed in this field.") == 2
    assert "Not a valid email address: not an address" in text
    assert "Not a valid email address: nope" in text
    with app.app_context():
        assert _count(EmailTemplate) == 0


def test_the_default_language_version_is_required_and_others_optional(app, client, auth):
    auth.login_as("manager")
    response = client.post("/email-templates/new", data=_form(subject_fr="", body_html_fr=""))
    assert response.status_code == 422
    assert b"This field is required." in response.data
    response = client.post("/email-templates/new", data=_form(subject_en="", body_html_en=""))
    assert response.status_code == 303
    with app.app_context():
        assert [v.locale for v in email_templates.find_by_name("Decision").versions] == ["fr"]


def test_names_are_unique(app, client, auth):
    auth.login_as("manager")
    assert client.post("/email-templates/new", data=_form()).status_code == 303
    response = client.post("/email-templates/new", data=_form())
    assert response.status_code == 422
    assert b"A template with this name already exists." in response.data


def test_html_is_sanitised_and_placeholders_survive(db):
    source = ('<p onclick="x()">Hi {{ recipient_name }}</p><script>alert(1)</script>'
              '<a href="{{ application_url }}" onmouseover="y()">link</a>'
              '<a href="javascript:alert(1)">bad</a>'
              '{% if status_label == "Accepted" and 1 < 2 %}<b>yes</b>{% endif %}'
              '<table><tr><td style="color: red; position: fixed">cell</td></tr></table>'
              '<img src="{{ application_url }}" onerror="z()">')
    cleaned = email_templates.sanitize_html(source)
    assert "<script" not in cleaned and "alert(1)" not in cleaned
    assert "onclick" not in cleaned and "onmouseover" not in cleaned and "onerror" not in cleaned
    assert "javascript:" not in cleaned
    assert 'href="{{ application_url }}"' in cleaned
    assert 'src="{{ application_url }}"' in cleaned
    assert '{% if status_label == "Accepted" and 1 < 2 %}' in cleaned
    assert "position" not in cleaned and "color:red" in cleaned
    from webapp.services import templating
    assert templating.find_problems(cleaned) == []


def test_safe_filter_and_autoescape_off_are_refused(app, client, auth):
    auth.login_as("manager")
    response = client.post("/email-templates/new", data=_form(
        body_html_fr='{{ "<script>x</script>"|safe }}',
        body_html_en="{% autoescape false %}{{ candidate_name }}{% endautoescape %}"))
    assert response.status_code == 422
    assert "unknown filter “safe”".encode() in response.data
    assert b"Turning autoescaping off is not allowed." in response.data


def test_editing_changes_the_versions_and_is_audited(app, client, auth):
    with app.app_context():
        template = factories.make_template(name="Old")
        _db.session.commit()
        template_id = template.id
    auth.login_as("admin")
    page = client.get(f"/email-templates/{template_id}")
    assert page.status_code == 200 and b"About {{ campaign_label }}" in page.data
    response = client.post(f"/email-templates/{template_id}", data=_form(name="New name"))
    assert response.status_code == 303
    with app.app_context():
        template = _db.session.get(EmailTemplate, template_id)
        assert template.name == "New name"
        assert template.version_for("en").subject == "Decision: {{ campaign_label }}"
        entry = _db.session.scalars(sa.select(AuditEntry)
                                    .where(AuditEntry.object_type != "user")).one()
        assert entry.action == "email_template.updated"
        assert entry.summary.startswith("New name: ")
        assert "body_html [fr]" in entry.summary and "reply_to" in entry.summary
        assert "default_locale" not in entry.summary
    page = client.get(f"/email-templates/{template_id}")
    assert b"template edited" in page.data


def test_deleting_a_template_in_use_is_refused_naming_the_triggers(app, client, auth):
    with app.app_context():
        template = factories.make_template(name="Used")
        campaign = factories.make_campaign(label="Grants 2027")
        trigger = factories.make_trigger(campaign, template)
        _db.session.commit()
        template_id, trigger_id = template.id, trigger.id
    auth.login_as("manager")
    response = client.post(f"/email-templates/{template_id}/delete", follow_redirects=True)
    assert f"Grants 2027 #{trigger_id}" in response.get_data(as_text=True)
    with app.app_context():
        assert _db.session.get(EmailTemplate, template_id) is not None


def test_deleting_an_unused_template(app, client, auth, htmx_headers):
    with app.app_context():
        template_id = factories.make_template(name="Unused").id
        _db.session.commit()
    auth.login_as("manager")
    confirm = client.get(f"/email-templates/{template_id}/delete")
    assert b"Delete this template?" in confirm.data and b"Unused" in confirm.data
    response = client.post(f"/email-templates/{template_id}/delete", headers=htmx_headers)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/email-templates/"
    with app.app_context():
        assert _db.session.get(EmailTemplate, template_id) is None


def test_duplicate_copies_versions_under_a_new_name(app, client, auth):
    with app.app_context():
        template_id = factories.make_template(name="Base", reply_to="r@example.org").id
        _db.session.commit()
    auth.login_as("manager")
    client.post(f"/email-templates/{template_id}/duplicate")
    client.post(f"/email-templates/{template_id}/duplicate")
    with app.app_context():
        names = sorted(t.name for t in email_templates.list_templates())
        assert names == ["Base", "Base (copy 2)", "Base (copy)"]
        copy = email_templates.find_by_name("Base (copy)")
        assert copy.reply_to == "r@example.org" and len(copy.versions) == 2


def test_list_searches_by_name_and_shows_which_campaigns_use_each(app, client, auth,
                                                                  htmx_headers):
    with app.app_context():
        used = factories.make_template(name="Acceptance letter")
        factories.make_template(name="Rejection letter")
        factories.make_trigger(factories.make_campaign(label="Fellowships"), used)
        _db.session.commit()
    auth.login_as("manager")
    page = client.get("/email-templates/").get_data(as_text=True)
    assert "Acceptance letter" in page and "Rejection letter" in page and "Fellowships" in page
    fragment = client.get("/email-templates/?q=accept", headers=htmx_headers)
    text = fragment.get_data(as_text=True)
    assert text.lstrip().startswith('<div id="template-list">')
    assert "Acceptance letter" in text and "Rejection letter" not in text


def test_preview_renders_sample_values_in_a_sandboxed_iframe(app, client, auth, htmx_headers):
    auth.login_as("manager")
    response = client.post("/email-templates/preview", headers=htmx_headers,
                           data=_form(preview_locale="en"))
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert text.lstrip().startswith('<section id="preview"')
    assert "Decision: Research grants 2027" in text
    assert 'sandbox=""' in text and "srcdoc=" in text
    assert "Hello Camille Martin" in text


def test_preview_with_a_real_application_escapes_its_values(app, client, auth, htmx_headers):
    with app.app_context():
        campaign = factories.make_campaign(label="Real campaign")
        candidate = factories.make_user("candidate", email="x@example.org",
                                        first_name="<script>alert(1)</script>")
        application = factories.make_application(campaign, candidate, "submitted")
        _db.session.commit()
        application_id = application.id
    auth.login_as("manager")
    response = client.post("/email-templates/preview", headers=htmx_headers, data=_form(
        preview_locale="en", preview_application=str(application_id),
        body_html_en="<p>{{ candidate_name }} / {{ status_label }}</p>"))
    text = response.get_data(as_text=True)
    assert "Decision: Real campaign" in text
    assert "<script>alert(1)" not in text
    # Escaped once by the email renderer, once more inside the srcdoc attribute.
    assert "&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;" in text
    assert "Submitted" in text


def test_preview_names_the_problem(app, client, auth, htmx_headers):
    auth.login_as("manager")
    response = client.post("/email-templates/preview", headers=htmx_headers,
                           data=_form(preview_locale="fr", subject_fr="{{ nope }}"))
    assert b"Unknown placeholder: nope" in response.data


def test_send_me_a_test_queues_one_test_message_per_click(app, client, auth, users,
                                                          htmx_headers):
    auth.login_as("manager")
    for _ in range(2):
        response = client.post("/email-templates/send-test", headers=htmx_headers,
                               data=_form(preview_locale="en"))
        assert response.status_code == 200
        assert b"A test email is queued for manager@example.org." in response.data
    with app.app_context():
        rows = _db.session.scalars(sa.select(OutboxMessage)).all()
        assert len(rows) == 2
        assert {r.to_addr for r in rows} == {"manager@example.org"}
        assert all(r.is_test and r.state == "pending" for r in rows)
        assert all(r.priority == OutboxPriority.URGENT for r in rows)  # someone is waiting
        # Marked as a test for its reader, in the reader's language.
        assert rows[0].subject == "[Test] Decision: Research grants 2027"
        assert rows[0].sender.startswith("Grants office <")
        assert rows[0].reply_to == "grants@example.org"
        assert rows[0].recipient_user_id == _db.session.scalar(
            sa.select(User.id).where(User.email == "manager@example.org"))
    client.post("/language", data={"locale": "fr"})
    client.post("/email-templates/send-test", headers=htmx_headers,
                data=_form(preview_locale="en"))
    with app.app_context():
        newest = _db.session.scalars(sa.select(OutboxMessage).order_by(
            OutboxMessage.id.desc())).first()
        assert newest.subject.startswith("[Essai] Decision: ")


def test_send_me_a_test_refuses_a_broken_template(app, client, auth, htmx_headers):
    auth.login_as("manager")
    response = client.post("/email-templates/send-test", headers=htmx_headers,
                           data=_form(body_html_fr="{{ bad }}"))
    assert response.status_code == 422
    assert b"Unknown placeholder: bad" in response.data
    with app.app_context():
        assert _count(OutboxMessage) == 0


def test_service_refuses_unknown_placeholder_in_text_body(db, users):
    data = TemplateInput(name="T", versions={"fr": VersionInput("S", "<p>x</p>", "{{ oops }}")})
    errors = email_templates.validate(data)
    assert list(errors) == ["body_text_fr"] and errors["body_text_fr"][0].endswith(": oops")


def test_the_default_acknowledgement_template_is_kept(db):
    template = email_templates.default_acknowledgement_template()
    assert template is email_templates.default_acknowledgement_template()
    assert EventType.SUBMITTED == "submitted"


@pytest.mark.parametrize("source,message", [
    ("{{ ''.__class__ }}", "Line 1: an attribute (.name) is not allowed"),
    ("{{ candidate_name|attr('__class__') }}", "unknown filter “attr”"),
    ("{{ cycler }}", "Unknown placeholder: cycler"),
    ("{{ joiner() }}", "Line 1: a call (…()) is not allowed"),
    ("{{ namespace }}", "Unknown placeholder: namespace"),
    ("{{ range(10) }}", "Line 1: a call (…()) is not allowed"),
    ("{{ config }}", "Unknown placeholder: config"),
    ("{% include 'base.html' %}", "is not allowed"),
    ("{% extends 'base.html' %}", "is not allowed"),
    ("{% import 'base.html' as b %}", "is not allowed"),
])
def test_the_sandbox_refuses_escapes_when_saving(app, client, auth, source, message):
    auth.login_as("manager")
    response = client.post("/email-templates/new", data=_form(body_html_fr=source))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert _count(EmailTemplate) == 0
