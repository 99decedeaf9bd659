"""Templates can never stop the line: a template that fails, or uses a construct outside the
allow-list of email syntax, fails its own email, never the submission or the status change that
fired it; the editor refuses it."""

from html import unescape
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from jobs.drain import drain_once
from tests import factories
from webapp.extensions import db as _db
from webapp.models import Application, EmailTemplateVersion, EventType, User
from webapp.models.outbox import OutboxMessage

# Each one, in a body that was saved before the editor refused it.
PAYLOADS = {
    "huge power": "<p>{{ 9**10000000 > 1 }}</p>",
    "huge repetition": "<p>{{ 'x' * 10**8 }}</p>",
    "division by zero": "<p>{{ 1/0 }}</p>",
    "incomparable values": "<p>{{ 'a' > 1 }}</p>",
    "negative truncate": "<p>{{ recipient_name|truncate(-5) }}</p>",
    "recursive macro": "{% macro f() %}{{ f() }}{% endmacro %}<p>{{ f() }}</p>",
    "exponential macro": "{% macro f() %}{{ f() }}{{ f() }}{% endmacro %}{{ f() }}",
    "nested loops": "{% for a in 'x'*9999 %}{% for b in 'x'*9999 %}{% endfor %}{% endfor %}",
    "huge output": "{% for a in 'x'*9999 %}{{ 'y'*999 }}{% endfor %}",
    "doubling": "{% set a = 'x'*99999 %}{% set b = a ~ a %}{% set c = b ~ b %}{{ c }}",
    "format width": "{{ '%0999999999d' % 1 }}",
    "growing method": "{{ recipient_name.center(100000000) }}",
    "victim only": ("{% if candidate_first_name == 'Victim' %}{{ candidate_name|truncate(1) }}"
                    "{% endif %}<p>Hi</p>"),
}
# What the editor says of each (the others fail only when rendered for the victim).
REFUSALS = {
    "huge power": "Line 1: arithmetic (+ - * / **) is not allowed in an email template.",
    "huge repetition": "Line 1: arithmetic",
    "division by zero": "Line 1: arithmetic",
    "incomparable values": "This template cannot be rendered: TypeError",
    "negative truncate": "Line 1: the arguments of “truncate” must be plain values.",
    "recursive macro": "Line 1: the “macro” tag is not allowed in an email template.",
    "exponential macro": "Line 1: the “macro” tag",
    "nested loops": "Line 1: the “for” tag is not allowed in an email template.",
    "huge output": "Line 1: the “for” tag",
    "doubling": "Line 1: the “set” tag is not allowed in an email template.",
    "format width": "Line 1: arithmetic",
    "growing method": "Line 1: a call (…()) is not allowed in an email template.",
}
FORM = {"title": "Tide pools", "summary": "A study", "motivation": "Curiosity", "confirmed": "y"}


def _user(email):
    return _db.session.scalars(sa.select(User).where(User.email == email)).one()


def _with_body(body: str, name: str):
    """A template whose body skipped the editor's checks (saved before they existed)."""
    template = factories.make_template(name=name)
    _db.session.execute(sa.update(EmailTemplateVersion)
                        .where(EmailTemplateVersion.template_id == template.id)
                        .values(body_html=body))
    return template


@pytest.fixture
def victim_campaign(app, users):
    with app.app_context():
        campaign = factories.make_campaign(label="Grants")
        candidate = _user("candidate@example.org")
        candidate.first_name = "Victim"
        draft = factories.make_application(campaign, candidate)
        others = [factories.make_application(campaign, status_code="submitted")
                  for _ in range(2)]
        _db.session.commit()
        return {"campaign": campaign.id, "draft": draft.id, "others": [a.id for a in others]}


def _rows(app):
    with app.app_context():
        return [(row.state, row.last_error) for row in
                _db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id))]


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_a_submission_commits_and_its_email_is_stored_failed(app, client, auth,
                                                             victim_campaign, payload):
    with app.app_context():
        factories.make_trigger(_db.session.get(Application, victim_campaign["draft"]).campaign,
                               _with_body(payload, "Ack"), event=EventType.SUBMITTED)
        _db.session.commit()
    auth.login_as("candidate")
    draft = f"/my/applications/{victim_campaign['draft']}"
    assert client.post(draft, data={**FORM, "action": "submit"}).status_code == 200
    response = client.post(f"{draft}/submit")
    assert response.status_code == 303
    with app.app_context():
        assert _db.session.get(Application, victim_campaign["draft"]).status.code == "submitted"
    [(state, error)] = _rows(app)
    assert state == "failed" and error.startswith("Rendering failed:")


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_a_bulk_change_moves_everyone_and_stores_each_failed_email(app, client, auth,
                                                                  victim_campaign, payload):
    with app.app_context():
        campaign = _db.session.get(Application, victim_campaign["draft"]).campaign
        # The victim's application is submitted too, so the bulk change may move it.
        _db.session.get(Application, victim_campaign["draft"]).status = \
            factories.status("submitted")
        template = _with_body(payload, "Decision")
        factories.make_trigger(campaign, template, to_status="accepted")
        _db.session.commit()
        accepted = factories.status("accepted").id
    auth.login_as("admin")
    ids = [victim_campaign["draft"], *victim_campaign["others"]]
    response = client.post(f"/applications/campaigns/{victim_campaign['campaign']}/status",
                           data={"status": accepted, "scope": "selected", "ids": ids})
    assert response.status_code == 303
    with app.app_context():
        moved = _db.session.scalars(sa.select(Application.status_id)
                                    .where(Application.id.in_(ids))).all()
        assert moved == [accepted] * 3
    rows = _rows(app)
    assert len(rows) == 3
    if payload == PAYLOADS["victim only"]:
        # Only the victim's email fails; the others' are queued.
        assert sorted(state for state, _ in rows) == ["failed", "pending", "pending"]
    else:
        assert {state for state, _ in rows} == {"failed"}


@pytest.mark.parametrize("name", REFUSALS)
def test_the_editor_refuses_each_payload_in_preview_and_on_save(app, client, auth, name):
    auth.login_as("manager")
    form = {"name": "Bad", "default_locale": "en", "subject_en": "Hello",
            "body_html_en": PAYLOADS[name], "preview_locale": "en"}
    preview = client.post("/email-templates/preview", data=form)
    assert preview.status_code == 200
    assert REFUSALS[name] in preview.get_data(as_text=True)
    saved = client.post("/email-templates/new", data=form)
    assert saved.status_code == 422
    assert REFUSALS[name] in saved.get_data(as_text=True)


def test_saving_is_refused_when_the_chosen_application_makes_the_render_fail(
        app, client, auth, victim_campaign):
    auth.login_as("manager")
    form = {"name": "Decision", "default_locale": "en", "subject_en": "Hello",
            "body_html_en": PAYLOADS["victim only"], "preview_locale": "en"}
    with app.app_context():
        reference = _db.session.get(Application, victim_campaign["draft"]).reference
    refused = client.post("/email-templates/new",
                          data={**form, "preview_application": victim_campaign["draft"]})
    assert refused.status_code == 422
    assert (f"This template cannot be rendered for {reference}: AssertionError"
            in refused.get_data(as_text=True))
    # With sample values the same body renders: saved.
    assert client.post("/email-templates/new", data=form).status_code == 303


def test_the_refusal_is_named_in_french(app, client, auth):
    auth.login_as("manager")
    client.post("/language", data={"locale": "fr"})
    response = client.post("/email-templates/preview", data={
        "name": "X", "default_locale": "fr", "subject_fr": "Objet",
        "body_html_fr": "<p>{{ 'x' * 10**8 }}</p>", "preview_locale": "fr"})
    text = unescape(response.get_data(as_text=True))
    assert "Ligne 1 : un modèle d'e-mail n'accepte pas le calcul (+ - * / **)." in text


def test_a_value_cannot_bring_a_script_link_onto_the_wire(app, client, auth, smtp,
                                                          victim_campaign):
    with app.app_context():
        candidate = _user("candidate@example.org")
        candidate.first_name = "javascript:alert(1)"
        candidate.last_name = '" onerror="alert(2)'
        body = ('<p><a href="{{ candidate_first_name }}">{{ candidate_name }}</a>'
                '<img src="{{ candidate_last_name }}" alt="{{ candidate_last_name }}"></p>')
        factories.make_trigger(_db.session.get(Application, victim_campaign["draft"]).campaign,
                               _with_body(body, "Ack"), event=EventType.SUBMITTED)
        _db.session.commit()
    auth.login_as("candidate")
    client.post(f"/my/applications/{victim_campaign['draft']}",
                data={**FORM, "action": "submit"})
    client.post(f"/my/applications/{victim_campaign['draft']}/submit")
    drain_once(app)
    [received] = smtp.to("candidate@example.org")
    html = received.message.get_body(("html",)).get_content()
    attributes = _attributes(html)
    assert ("a", "href", "javascript:alert(1)") not in attributes
    assert not [a for a in attributes if a[1].startswith("on")]
    assert "alert(1)" in html  # the name itself is still shown, as text


def _attributes(html: str) -> set[tuple[str, str, str]]:
    """(tag, attribute, value) of every attribute, as a mail client's parser reads them."""
    found = set()

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.update((tag, name, value or "") for name, value in attrs)

    Collect().feed(html)
    return found


# Deeper than any email needs: Jinja's parser and compiler (and Python's) would fail on them
# with no line to show. The third line carries the nesting, so the refusal must name it.
NESTED = {
    "80 parentheses": "{{ " + "(" * 80 + "1" + ")" * 80 + " }}",
    "100 blocks": "{% if 1 %}" * 100 + "x" + "{% endif %}" * 100,
    "3,000 filters": "{{ recipient_name" + "|upper" * 3000 + " }}",
    "500 nots": "{{ " + "not " * 500 + "1 }}",
    "2,000 subscripts": "{{ recipient_name" + "[0]" * 2000 + " }}",
    "300 brackets": "{{ " + "[" * 300 + "]" * 300 + " }}",
    "60 loops": "{% for a in [1] %}" * 60 + "{% endfor %}" * 60,
}


@pytest.mark.parametrize("part", ["subject_en", "body_html_en", "body_text_en"])
@pytest.mark.parametrize("payload", NESTED.values(), ids=NESTED.keys())
def test_the_editor_refuses_deep_nesting_naming_its_line(app, client, auth, payload, part):
    auth.login_as("manager")
    source = f"Hello\nthere\n{payload}" if part != "subject_en" else payload
    line = 1 if part == "subject_en" else 3
    form = {"name": "Deep", "default_locale": "en", "subject_en": "Hello",
            "body_html_en": "<p>Hi</p>", "preview_locale": "en", part: source}
    preview = client.post("/email-templates/preview", data=form)
    assert preview.status_code == 200
    assert f"Line {line}:" in preview.get_data(as_text=True)
    # A subject past 300 characters is refused for its length first.
    expected = f"Line {line}:" if len(source) <= 300 or part != "subject_en" else "300"
    saved = client.post("/email-templates/new", data=form)
    assert saved.status_code == 422
    assert expected in saved.get_data(as_text=True)
    test = client.post("/email-templates/send-test", data=form)
    assert test.status_code == 422
    assert expected in test.get_data(as_text=True)


@pytest.mark.parametrize("payload", NESTED.values(), ids=NESTED.keys())
def test_a_deep_template_already_stored_fails_its_email_only(app, client, auth, victim_campaign,
                                                            payload):
    with app.app_context():
        template = _with_body(payload, "Ack")
        if len(payload) <= 300:  # the subject's column: a longer one cannot be stored at all
            _db.session.execute(sa.update(EmailTemplateVersion)
                                .where(EmailTemplateVersion.template_id == template.id)
                                .values(subject=payload))
        factories.make_trigger(_db.session.get(Application, victim_campaign["draft"]).campaign,
                               template, event=EventType.SUBMITTED)
        _db.session.commit()
    auth.login_as("candidate")
    draft = f"/my/applications/{victim_campaign['draft']}"
    assert client.post(draft, data={**FORM, "action": "submit"}).status_code == 200
    assert client.post(f"{draft}/submit").status_code == 303
    [(state, error)] = _rows(app)
    assert state == "failed" and "Line 1:" in error
