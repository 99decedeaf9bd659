"""Nobody is emailed silently-not: a campaign's creator manages it, a recipient choice that
reaches nobody today is flagged where it is configured, and each recipient left out when an
email fires is listed on the application with the reason."""

import re

import sqlalchemy as sa

from tests import factories
from webapp.core import clock
from webapp.extensions import db as _db
from webapp.models import CampaignMember, EventType, MemberRole, Role, SkippedRecipient, UserRole
from webapp.models.outbox import OutboxMessage
from webapp.services import applications, campaigns


def test_the_creator_manages_a_new_campaign_unless_managers_are_chosen(app, users):
    with app.app_context():
        admin = _db.session.get(factories.User, users["admin"])
        manager = _db.session.get(factories.User, users["manager"])
        now = clock.now()
        alone = campaigns.create_campaign(admin, "Alone", now, now.replace(year=now.year + 1))
        chosen = campaigns.create_campaign(admin, "Chosen", now, now.replace(year=now.year + 1),
                                           managers=[manager])
        assert [u.email for u in alone.member_users(MemberRole.MANAGER)] == [admin.email]
        assert [u.email for u in chosen.member_users(MemberRole.MANAGER)] == [manager.email]


def test_the_campaign_form_preselects_its_creator(app, client, auth):
    auth.login_as("manager")
    page = client.get("/campaigns/new").get_data(as_text=True)
    with app.app_context():
        manager_id = _db.session.scalar(sa.select(factories.User.id).where(
            factories.User.email == "manager@example.org"))
    # The creator is ticked among the managers (whatever the widget: option or checkbox).
    tags = re.findall(r"<(?:input|option)[^>]*>", page.split("Evaluators")[0])
    chosen = [t for t in tags if f'value="{manager_id}"' in t]
    assert chosen and all("checked" in t or "selected" in t for t in chosen)


def _campaign_without_managers(app):
    with app.app_context():
        campaign = factories.make_campaign(label="Orphans")
        template = factories.make_template(name="For the managers")
        trigger = factories.make_trigger(campaign, template, event=EventType.SUBMITTED,
                                         to_candidate=True, to_managers=True)
        _db.session.commit()
        return campaign.id, template.id, trigger.id


def test_a_choice_that_reaches_nobody_is_flagged_on_the_tab_the_form_and_on_save(
        app, client, auth, htmx_headers):
    campaign_id, template_id, _trigger_id = _campaign_without_managers(app)
    auth.login_as("manager")
    tab = client.get(f"/campaigns/{campaign_id}/emails").get_data(as_text=True)
    assert "The campaign has no active manager today" in tab
    form = client.get(f"/campaigns/{campaign_id}/emails/submitted/new",
                      headers=htmx_headers).get_data(as_text=True)
    assert "Nobody today: the campaign has no active manager." in form
    saved = client.post(f"/campaigns/{campaign_id}/emails/submitted/new", headers=htmx_headers,
                        data={"template_id": str(template_id), "to_evaluators": "y",
                              "active": "y"})
    assert saved.status_code == 200
    text = saved.get_data(as_text=True)
    assert "Automatic email saved." in text
    assert "The campaign has no active evaluator today" in text


def test_a_submission_records_who_was_left_out_and_the_application_lists_them(
        app, client, auth, users):
    campaign_id, _template_id, _trigger_id = _campaign_without_managers(app)
    with app.app_context():
        campaign = _db.session.get(factories.Campaign, campaign_id)
        candidate = factories.make_user(email="ana@example.org")
        application = factories.make_application(campaign, candidate)
        _db.session.commit()
        applications.submit(candidate, application.id, applications.Answers(
            title="T", summary="S", motivation="M", confirmed=True))
        rows = _db.session.scalars(sa.select(OutboxMessage.to_addr)).all()
        skipped = _db.session.scalars(sa.select(SkippedRecipient)).all()
        assert rows == ["ana@example.org"]
        assert [(s.kind, s.reason, s.email) for s in skipped] == [("managers", "nobody", "")]
        application_id = application.id

    auth.login_as("manager")
    page = client.get(f"/applications/{application_id}").get_data(as_text=True)
    assert "skipped" in page and "nobody is chosen today" in page
    assert "The campaign&#39;s managers" in page


def test_inactive_accounts_and_members_without_access_are_recorded(app, users):
    with app.app_context():
        gone = factories.make_user(Role.MANAGER, email="gone@example.org", active=False)
        former = factories.make_user(Role.EVALUATOR, email="former@example.org")
        campaign = factories.make_campaign(managers=[gone], evaluators=[former])
        # The evaluator lost the role but is still listed on the campaign.
        _db.session.execute(sa.delete(UserRole).where(UserRole.user_id == former.id))
        template = factories.make_template()
        factories.make_trigger(campaign, template, to_status="accepted", to_candidate=True,
                               to_managers=True, to_evaluators=True,
                               extra_addresses="gone@example.org, outside@example.org")
        application = factories.make_application(campaign, status_code="submitted")
        manager = _db.session.get(factories.User, users["manager"])
        _db.session.commit()
        applications.change_status(manager, application.id, factories.status("accepted").id)
        skipped = {(s.kind, s.reason, s.email)
                   for s in _db.session.scalars(sa.select(SkippedRecipient))}
        assert skipped == {("managers", "inactive", "gone@example.org"),
                           ("evaluators", "no_access", "former@example.org")}
        sent_to = set(_db.session.scalars(sa.select(OutboxMessage.to_addr)))
        assert sent_to == {application.candidate.email, "outside@example.org"}
        assert _db.session.scalar(sa.select(sa.func.count()).select_from(CampaignMember)) == 2
