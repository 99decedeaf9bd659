"""Held emails as a platform manager sees them, in French: one group per automatic email and
target status (two decisions sharing a template are two groups), each with its sample and its
recipients; a release or cancel acts on exactly the emails shown, or answers 422 with the new
list. Real database, real drain, real SMTP server."""

import re

import pytest
import sqlalchemy as sa

from jobs.drain import drain_once
from tests import factories
from webapp.extensions import db
from webapp.models import Role, User
from webapp.models.outbox import OutboxMessage
from webapp.services import applications
from webapp.services.applications import Selection

HX = {"HX-Request": "true"}


@pytest.fixture
def world(app, users, client):
    """A campaign whose "Accepté" and "Refusé" emails share the "Décision" template and are
    held for review; four submitted applications; the admin reads French."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr"
    with app.app_context():
        db.session.get(User, users["admin"]).locale = "fr"
        manager = factories.make_user(Role.MANAGER, email="boss@example.org", locale="fr")
        campaign = factories.make_campaign(label="Bourses", managers=[manager])
        template = factories.make_template(name="Décision",
                                           subject="Décision : {{ status_label }}")
        triggers = {code: factories.make_trigger(campaign, template, to_status=code,
                                                 hold_for_review=True).id
                    for code in ("accepted", "rejected")}
        apps = [factories.make_application(campaign, factories.make_user(
            Role.CANDIDATE, email=f"cand{i}@example.org", locale="fr"),
            status_code="submitted").id for i in range(5)]
        db.session.commit()
        return dict(campaign=campaign.id, manager=manager.id, triggers=triggers, apps=apps,
                    status={code: factories.status(code).id for code in triggers})


def _decide(app, world, code: str, indexes) -> None:
    with app.app_context():
        manager = db.session.get(User, world["manager"])
        applications.bulk_change_status(
            manager, Selection(world["campaign"], ids=tuple(world["apps"][i] for i in indexes)),
            world["status"][code])


def _group_html(page: str, world, code: str) -> str:
    key = f'held-{world["campaign"]}-{world["triggers"][code]}-{world["status"][code]}'
    start = page.index(f'id="{key}"')
    return page[start:page.index("</article>", start)]


def _url(world, code: str, action: str) -> str:
    return (f'/campaigns/{world["campaign"]}/held/{world["triggers"][code]}/'
            f'{world["status"][code]}/{action}')


def _version(html: str) -> str:
    return re.search(r'name="version" value="([^"]+)"', html).group(1)


def _recipients(html: str) -> list[str]:
    listed = html[html.index('class="held-recipient-list"'):]
    return re.findall(r"&lt;([^&]+)&gt;", listed[:listed.index("</ul>")])


def _states(app) -> dict[str, str]:
    with app.app_context():
        return dict(db.session.execute(sa.select(OutboxMessage.to_addr, OutboxMessage.state)
                                       .where(OutboxMessage.state != "cancelled")).all())


def test_two_decisions_sharing_a_template_are_two_groups_each_with_sample_and_recipients(
        app, client, auth, world, smtp):
    _decide(app, world, "accepted", [0, 1])
    _decide(app, world, "rejected", [2])
    auth.login_as("admin")
    page = client.get(f'/campaigns/{world["campaign"]}/emails').get_data(as_text=True)
    accepted, rejected = (_group_html(page, world, code) for code in ("accepted", "rejected"))
    assert "2 e-mails" in accepted and "1 e-mail" in rejected
    assert "Exemple : Décision : Accepté, à cand0@example.org" in accepted
    assert "Exemple : Décision : Refusé, à cand2@example.org" in rejected
    assert "Afficher les 2 destinataires" in accepted
    assert _recipients(accepted) == ["cand0@example.org", "cand1@example.org"]
    assert _recipients(rejected) == ["cand2@example.org"]
    outbox_page = client.get("/outbox/").get_data(as_text=True)
    assert outbox_page.count("Décision <span class=\"badge\">") == 2

    done = client.post(_url(world, "accepted", "release"), headers=HX,
                       data={"version": _version(accepted)})
    assert done.status_code == 200
    drain_once(app)
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == ["cand0@example.org",
                                                             "cand1@example.org"]
    assert {m.message["Subject"] for m in smtp.messages} == {"Décision : Accepté"}
    assert _states(app)["cand2@example.org"] == "held"


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain form"])
def test_a_group_changed_behind_the_same_count_is_refused_with_the_new_list(
        app, client, auth, world, smtp, htmx):
    _decide(app, world, "accepted", [0, 1, 2])
    auth.login_as("admin")
    page = client.get(f'/campaigns/{world["campaign"]}/emails').get_data(as_text=True)
    seen = _version(_group_html(page, world, "accepted"))
    # Meanwhile: cand0 is refused (their held acceptance is withdrawn), cand3 accepted.
    _decide(app, world, "rejected", [0])
    _decide(app, world, "accepted", [3])
    for action in ("release", "cancel"):
        refused = client.post(_url(world, "accepted", action), headers=HX if htmx else {},
                              data={"version": seen})
        assert refused.status_code == 422
        html = refused.get_data(as_text=True)
        assert ("Les e-mails retenus ont changé entre-temps : il y en a maintenant 3."
                in html)
        group = _group_html(html, world, "accepted")
        assert _recipients(group) == ["cand1@example.org", "cand2@example.org",
                                      "cand3@example.org"]
        assert "<details class=\"held-recipients\" open>" in group
    assert set(_states(app).values()) == {"held"}
    drain_once(app)
    assert smtp.messages == []

    current = _version(_group_html(html, world, "accepted"))
    assert client.post(_url(world, "accepted", "release"), headers=HX if htmx else {},
                       data={"version": current}).status_code == (200 if htmx else 303)
    drain_once(app)
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == [
        "cand1@example.org", "cand2@example.org", "cand3@example.org"]
