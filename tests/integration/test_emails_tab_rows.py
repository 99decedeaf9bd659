"""The Emails tab's rows: what each automatic email has sent (with a way to those messages in
the Outbox). Its preview and a test to oneself: test_automatic_email_samples."""

import sqlalchemy as sa

from tests import factories
from tests.outbox_support import queue_messages
from webapp.core import clock
from webapp.extensions import db as _db
from webapp.models.outbox import OutboxMessage


def _campaign_with_history(app):
    with app.app_context():
        campaign = factories.make_campaign(label="Bourses 2027")
        template = factories.make_template(
            name="Decision", versions={"fr": ("Décision : {{ status_label }}",
                                              "<p>{{ campaign_label }} : {{ status_label }}</p>"),
                                       "en": ("Decision: {{ status_label }}",
                                              "<p>{{ campaign_label }}: {{ status_label }}</p>")})
        trigger = factories.make_trigger(campaign, template, to_status="accepted")
        quiet = factories.make_trigger(campaign, template, to_status="rejected")
        _db.session.commit()
        queue_messages(2, campaign_id=campaign.id, trigger_id=trigger.id)
        _db.session.execute(sa.update(OutboxMessage).values(state="sent", sent_at=clock.now()))
        queue_messages(1, prefix="waiting", campaign_id=campaign.id, trigger_id=trigger.id)
        _db.session.commit()
        return campaign.id, trigger.id, quiet.id


def test_each_row_says_what_it_sent_and_links_admins_to_those_messages(app, client, auth):
    campaign_id, trigger_id, quiet_id = _campaign_with_history(app)
    auth.login_as("admin")
    tab = client.get(f"/campaigns/{campaign_id}/emails").get_data(as_text=True)
    row = tab[tab.index(f'id="trigger-{trigger_id}"'):tab.index(f'id="trigger-{quiet_id}"')]
    assert "2 emails sent, last on" in row
    assert f'href="/outbox/?trigger={trigger_id}"' in row
    assert "No email sent yet" in tab[tab.index(f'id="trigger-{quiet_id}"'):]
    outbox = client.get(f"/outbox/?trigger={trigger_id}&state=sent").get_data(as_text=True)
    assert outbox.count("user0@example.org") == 1 and "waiting0@example.org" not in outbox

    auth.logout()
    auth.login_as("manager")  # configures emails, but does not watch the Outbox
    tab = client.get(f"/campaigns/{campaign_id}/emails").get_data(as_text=True)
    assert "2 emails sent, last on" in tab and "/outbox/?trigger=" not in tab
