"""The suppression list's rules: soft bounces decay and expire, an admin ends an entry (audited),
an automatic email whose hard bounces pass 5 % of its last sends is paused and resumed in one
click, and the suppressed addresses download as CSV."""

import sqlalchemy as sa

from tests import factories
from tests.outbox_support import clock_fixture  # noqa: F401
from webapp import outbox
from webapp.core import clock
from webapp.extensions import db
from webapp.models import AuditEntry, DeliveryReport
from webapp.models.outbox import OutboxMessage
from webapp.outbox import filing, suppression


def _sent(address: str, number: int, trigger_id=None) -> OutboxMessage:
    row = outbox.enqueue(key=f"k{number}:{address}", to_addr=address, subject="S",
                         body_html="<p>S</p>", body_text="S", trigger_id=trigger_id)
    db.session.flush()
    row.state, row.sent_at = "sent", row.created_at
    return row


def _report(row: OutboxMessage, kind: str, status: str) -> None:
    report = DeliveryReport(kind=kind, message_id=row.id, address=row.to_addr, status=status,
                            diagnostic="mailbox full", reporter="mx.example.net",
                            created_at=clock.now())
    db.session.add(report)
    db.session.flush()
    filing._apply(report, db.session.execute(
        sa.select(OutboxMessage.id, OutboxMessage.to_addr, OutboxMessage.trigger_id,
                  OutboxMessage.delivery).where(OutboxMessage.id == row.id)).one())


def test_soft_bounces_suppress_at_five_within_thirty_days_and_the_entry_expires(db, clock):  # noqa: F811
    for number in range(4):
        _report(_sent("full@example.net", number), "soft", "4.2.2")
        clock.advance(days=7)
    assert suppression.soft_score("full@example.net") == 4
    clock.advance(days=3)  # the oldest ages out of the 30-day window: the score decays
    assert suppression.soft_score("full@example.net") == 3
    _report(_sent("full@example.net", 4), "soft", "4.2.2")
    assert suppression.reason_for("full@example.net") is None
    _report(_sent("full@example.net", 5), "soft", "4.2.2")
    assert suppression.soft_score("full@example.net") == 5
    assert "soft bounces" in suppression.reason_for("full@example.net")
    db.session.commit()
    clock.advance(days=31)
    assert suppression.reason_for("full@example.net") is None  # expired by itself


def test_a_later_message_the_relay_accepted_and_nobody_bounced_resets_the_soft_score(
        db, clock):  # noqa: F811
    for number in range(3):
        _report(_sent("busy@example.net", number), "soft", "4.2.2")
        clock.advance(days=1)
    assert suppression.soft_score("busy@example.net") == 3
    _sent("busy@example.net", 3)  # accepted by the relay; a bounce may still come
    clock.advance(days=1)
    assert suppression.soft_score("busy@example.net") == 3
    clock.advance(days=5)  # longer than a relay keeps retrying, and no bounce came
    assert suppression.soft_score("busy@example.net") == 0
    _report(_sent("busy@example.net", 4), "soft", "4.2.2")  # counting starts again
    assert suppression.soft_score("busy@example.net") == 1
    # A message that bounced later is no success: the score counts it and those before.
    quiet = _sent("busy@example.net", 5)
    clock.advance(days=6)
    assert suppression.soft_score("busy@example.net") == 0
    _report(quiet, "soft", "4.2.2")
    assert suppression.soft_score("busy@example.net") == 2


def test_a_later_delivery_never_ends_a_hard_bounce_or_a_complaint(db, clock):  # noqa: F811
    _report(_sent("gone@example.net", 1), "hard", "5.1.1")
    _report(_sent("angry@example.net", 2), "complaint", "")
    clock.advance(days=1)
    _report(_sent("gone@example.net", 3), "delivered", "2.0.0")
    _report(_sent("angry@example.net", 4), "delivered", "2.0.0")
    clock.advance(days=6)
    assert "Bounced" in suppression.reason_for("gone@example.net")
    assert "Complaint" in suppression.reason_for("angry@example.net")


def test_an_admin_ends_a_suppression_and_it_is_audited(db, users):
    _report(_sent("gone@example.net", 1), "hard", "5.1.1")
    db.session.commit()
    admin = db.session.get(factories.User, users["admin"])
    assert outbox.end_suppression(admin, "gone@example.net") == 1
    assert suppression.reason_for("gone@example.net") is None
    entry = db.session.scalars(sa.select(AuditEntry)
                               .where(AuditEntry.action == "delivery.unsuppress")).one()
    assert "gone@example.net" in entry.summary


def test_an_email_bouncing_past_five_percent_is_paused_then_resumed_in_one_click(
        app, db, users, auth, client):
    campaign = factories.make_campaign()
    trigger = factories.make_trigger(campaign, factories.make_template())
    rows = [_sent(f"p{n}@example.org", n, trigger.id) for n in range(100)]
    for row in rows[:5]:
        _report(row, "hard", "5.1.1")
    db.session.commit()
    assert outbox.active_pauses() == []  # 5 in 100: at the threshold, not past it
    _report(rows[5], "hard", "5.1.1")
    db.session.commit()
    [pause] = outbox.active_pauses()
    # New emails of that automatic email are held meanwhile.
    held = _sent("new@example.org", 200, trigger.id)
    held.state = "held"
    fresh = outbox.enqueue(key="fresh", to_addr="fresh@example.org", subject="S",
                           body_html="<p>S</p>", body_text="S", trigger_id=trigger.id)
    db.session.commit()
    assert fresh.state == "held"

    auth.login_as("admin")
    page = client.get("/outbox/").get_data(as_text=True)
    assert f'id="pause-{pause["id"]}"' in page and 'id="bounces-per-email"' in page
    response = client.post(f"/outbox/pauses/{pause['id']}/resume")
    assert response.status_code == 303
    db.session.expire_all()
    assert outbox.active_pauses() == []
    assert db.session.get(OutboxMessage, fresh.id).state == "pending"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "delivery.resume")) == 1
    assert client.post(f"/outbox/pauses/{pause['id']}/resume").status_code == 404


def test_the_suppressed_addresses_download_as_csv_for_admins_only(db, users, auth, client):
    _report(_sent("gone@example.net", 1), "hard", "5.1.1")
    db.session.commit()
    auth.login_as("manager")
    assert client.get("/outbox/suppressed.csv").status_code in (302, 403)
    auth.logout()
    auth.login_as("admin")
    body = client.get("/outbox/suppressed.csv").get_data(as_text=True)
    assert "gone@example.net" in body and "hard" in body


def test_a_suppressed_row_shows_in_the_outbox_with_its_label(db, users, auth, client):
    _report(_sent("gone@example.net", 1), "hard", "5.1.1")
    outbox.enqueue(key="later", to_addr="gone@example.net", subject="Later",
                   body_html="<p>L</p>", body_text="L")
    db.session.commit()
    auth.login_as("admin")
    page = client.get("/outbox/?state=suppressed").get_data(as_text=True)
    assert "Later" in page and "Suppressed" in page
    assert outbox.counters()["suppressed"] == 1


def test_an_admin_ends_a_suppression_from_the_message_and_it_is_sent(db, users, auth, client,
                                                                     smtp, app):
    _report(_sent("gone@example.net", 1), "hard", "5.1.1")
    later = outbox.enqueue(key="later", to_addr="gone@example.net", subject="Later",
                           body_html="<p>L</p>", body_text="L")
    db.session.commit()
    auth.login_as("manager")
    assert client.post(f"/outbox/{later.id}/unsuppress").status_code in (302, 403)
    auth.logout()
    auth.login_as("admin")
    page = client.get(f"/outbox/{later.id}").get_data(as_text=True)
    assert "the address is suppressed" in page and "End the suppression" in page
    assert client.post(f"/outbox/{later.id}/unsuppress").status_code == 303
    db.session.expire_all()
    assert db.session.get(OutboxMessage, later.id).state == "pending"
    assert suppression.reason_for("gone@example.net") is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "delivery.unsuppress")) == 1
    assert client.post(f"/outbox/{later.id}/unsuppress").status_code == 404
