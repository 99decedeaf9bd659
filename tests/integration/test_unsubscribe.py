"""One-click unsubscribe (RFC 8058) for reminders only: the headers, a POST with no session and
no CSRF token, idempotent and audited; a GET only shows the confirmation page."""

from urllib.parse import urlparse

import sqlalchemy as sa

from jobs.drain import drain_once
from webapp import outbox
from webapp.extensions import db
from webapp.models import AuditEntry, Suppression
from webapp.models.outbox import OutboxMessage


def _enqueue(event_type: str, number: int, address="camille@example.org") -> OutboxMessage:
    row = outbox.enqueue(key=f"{event_type}:{number}", to_addr=address, subject=f"S{number}",
                         body_html="<p>S</p>", body_text="S", event_type=event_type,
                         event_id=number)
    db.session.commit()
    return row


def test_a_reminder_carries_one_click_unsubscribe_and_an_acknowledgement_does_not(
        make_app, smtp):
    app = make_app(BOUNCE_ADDRESS="bounces@apply.example.org")
    with app.app_context():
        _enqueue("reminder", 1)
        _enqueue("submitted", 2)
    drain_once(app, "w1")
    reminder, acknowledgement = sorted(smtp.messages, key=lambda m: m["Subject"])
    links = reminder["List-Unsubscribe"]
    assert "<http://missive.test/unsubscribe/" in links
    assert "<mailto:bounces+unsubscribe-" in links and "@apply.example.org?subject=" in links
    assert reminder["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert reminder["Feedback-ID"].endswith(":reminder:missive")
    assert acknowledgement["List-Unsubscribe"] is None
    assert acknowledgement["Feedback-ID"].endswith(":submitted:missive")


def test_the_one_click_post_unsubscribes_from_reminders_only_without_a_session(make_app, smtp):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        row = _enqueue("reminder", 1)
        url = row.headers["List-Unsubscribe"].strip("<>")
    path = urlparse(url).path
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"

    page = client.get(path)  # a link scanner: shown the page, unsubscribes nobody
    assert page.status_code == 200 and "camille@example.org" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Suppression)) == 0

    for _ in range(2):  # idempotent
        response = client.post(path, data={"List-Unsubscribe": "One-Click"})
        assert response.status_code == 200
    with app.app_context():
        [entry] = db.session.scalars(sa.select(Suppression)).all()
        assert (entry.address, entry.kind) == ("camille@example.org", "unsubscribed")
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.action == "delivery.unsubscribe")) == 1
        assert _enqueue("reminder", 2).state == "suppressed"
        assert _enqueue("status_changed", 3).state == "pending"
    assert client.post(path + "x", data={"List-Unsubscribe": "One-Click"}).status_code == 404
    assert client.get("/unsubscribe/forged").status_code == 404
