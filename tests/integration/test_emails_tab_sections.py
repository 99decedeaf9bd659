"""The Emails tab's sections answer on their own: a trigger's change redraws its section only
(nothing of the reminders is read), and every kind shows its recipient errors in its recipients
fieldset."""

import pytest
import sqlalchemy as sa

from tests import factories
from tests.outbox_support import clock_fixture  # noqa: F401
from webapp.extensions import db as _db
from webapp.models import Reminder, Role

HX = {"HX-Request": "true"}


@pytest.fixture
def setup(app, users, clock):
    clock.freeze()
    with app.app_context():
        campaign = factories.make_campaign(label="Grants", closes_in_days=10)
        template = factories.make_template(name="Nudge")
        trigger = factories.make_trigger(campaign, template, to_candidate=True)
        for i in range(3):
            factories.make_application(campaign, factories.make_user(
                Role.CANDIDATE, email=f"draft{i}@example.org"))
        _db.session.add(Reminder(campaign_id=campaign.id, template_id=template.id,
                                 kind="before_closing", offset_amount=3, offset_unit="days",
                                 to_candidate=True, active=True))
        _db.session.commit()
        return {"campaign": campaign.id, "template": template.id, "trigger": trigger.id}


def _statements_during(app, call) -> list[str]:
    seen: list[str] = []
    with app.app_context():
        engine = _db.engine

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        response = call()
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return response, seen


def test_switching_a_trigger_redraws_its_section_without_planning_the_reminders(
        app, client, auth, setup):
    auth.login_as("manager")
    response, statements = _statements_during(app, lambda: client.post(
        f"/campaigns/{setup['campaign']}/triggers/{setup['trigger']}/toggle", headers=HX))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="section-status_changed"')
    assert "Automatic email switched off." in html
    touched = [s for s in statements if "reminder" in s.lower()]
    assert touched == []


def test_the_reminder_form_shows_its_recipient_errors_in_its_fieldset(app, client, auth,
                                                                       setup):
    auth.login_as("manager")
    response = client.post(f"/campaigns/{setup['campaign']}/emails/reminders/new", headers=HX,
                           data={"kind": "before_closing", "template_id": setup["template"],
                                 "offset_amount": "3", "offset_unit": "days", "active": "y"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    fieldset = html[html.index('<fieldset class="recipients'):]
    fieldset = fieldset[:fieldset.index("</fieldset>")]
    assert 'aria-describedby="recipients-reminder-errors"' in fieldset
    assert 'id="recipients-reminder-errors"' in fieldset
    assert "Choose at least one recipient." in fieldset
