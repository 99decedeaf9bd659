"""The sysadmin's Outbox page: counters, filters, detail, actions, permissions."""

import re

import pytest
import sqlalchemy as sa

from jobs.drain import drain_once
from tests import factories
from tests.outbox_support import clock_fixture, queue_messages  # noqa: F401
from webapp import outbox
from webapp.extensions import db
from webapp.models import AuditEntry, OutboxPriority
from webapp.models.outbox import OutboxMessage, WorkerHeartbeat


@pytest.fixture
def mixed(app, smtp, users):
    """Five sent, two failed (550), three pending; returns the ids by state."""
    with app.app_context():
        queue_messages(10)
    smtp.handler.rcpt_reply = lambda a: (
        "550 5.1.1 No such user" if a in ("user1@example.org", "user2@example.org") else None)
    drain_once(app, MAIL_MAX_PER_MINUTE=7)  # five sent, two refused, three left waiting
    with app.app_context():
        rows = db.session.execute(sa.select(OutboxMessage.id, OutboxMessage.state)
                                         .order_by(OutboxMessage.id)).all()
    by_state = {}
    for message_id, state in rows:
        by_state.setdefault(state, []).append(message_id)
    assert len(by_state["sent"]) == 5 and len(by_state["failed"]) == 2
    smtp.reset()
    return by_state


ADMIN_URLS = [
    ("get", "/outbox/"), ("get", "/outbox/counters"), ("get", "/outbox/1"),
    ("get", "/outbox/bulk?action=retry"), ("post", "/outbox/bulk?action=retry"),
    ("post", "/outbox/1/retry"), ("post", "/outbox/1/cancel"), ("post", "/outbox/1/resend"),
    ("get", "/outbox/1/resend"),
]


@pytest.mark.parametrize("method, url", ADMIN_URLS)
@pytest.mark.parametrize("role", ["manager", "evaluator", "candidate"])
def test_only_admins_reach_the_outbox(client, auth, app, role, method, url):
    with app.app_context():
        queue_messages(1)
    auth.login_as(role)
    assert getattr(client, method)(url, data={"action": "retry"}).status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(OutboxMessage.state)) == "pending"


@pytest.mark.parametrize("method, url", ADMIN_URLS)
def test_anonymous_users_are_sent_to_sign_in(client, method, url):
    response = getattr(client, method)(url)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_the_page_shows_counters_and_messages_newest_first(client, auth, mixed):
    auth.login_as("admin")
    page = client.get("/outbox/").get_data(as_text=True)
    assert re.search(r'id="count-sent">5<', page)
    assert re.search(r'id="count-failed">2<', page)
    assert re.search(r'id="count-pending">3<', page)
    ids = [int(i) for i in re.findall(r'<tr id="message-(\d+)"', page)]
    assert ids == sorted(ids, reverse=True) and len(ids) == 10


def test_the_banner_warns_when_no_worker_was_seen_lately(client, auth, app, clock):
    auth.login_as("admin")
    assert "No worker has ever been seen" in client.get("/outbox/counters").get_data(True)
    with app.app_context():
        outbox.beat("w1")
    assert "No worker" not in client.get("/outbox/counters").get_data(True)
    clock.advance(seconds=app.config["OUTBOX_WORKER_STALE_SECONDS"] + 1)
    assert "No worker has been seen since" in client.get("/outbox/counters").get_data(True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(WorkerHeartbeat.worker))) == 1


def test_the_banner_warns_when_failures_rise(client, auth, make_app, smtp):
    app = make_app(OUTBOX_FAILURE_ALERT_MIN=3)
    with app.app_context():
        outbox.beat("w1")
        queue_messages(3)
    client = app.test_client()
    client.post("/auth/login", data={"email": "admin@example.org",
                                     "password": factories.PASSWORD})
    assert "Failures are rising" not in client.get("/outbox/counters").get_data(True)
    smtp.handler.rcpt_reply = lambda a: "451 4.3.0 Busy"
    drain_once(app)
    assert "Failures are rising: 3 failed attempts" in client.get(
        "/outbox/counters").get_data(True)


def test_filters_and_search_narrow_the_list(client, auth, mixed, app, htmx_headers):
    auth.login_as("admin")
    failed = client.get("/outbox/?state=failed", headers=htmx_headers)
    body = failed.get_data(as_text=True)
    assert failed.status_code == 200 and "<html" not in body
    assert body.startswith('<div id="outbox-results">')
    assert sorted(int(i) for i in re.findall(r'id="message-(\d+)"', body)) == mixed["failed"]

    found = client.get("/outbox/?q=user7@example.org").get_data(as_text=True)
    assert len(re.findall(r'<tr id="message-', found)) == 1 and "user7@example.org" in found
    with app.app_context():
        message_id = db.session.scalar(
            sa.select(OutboxMessage.message_id).where(OutboxMessage.to_addr ==
                                                      "user3@example.org"))
    by_id = client.get("/outbox/", query_string={"q": message_id}).get_data(as_text=True)
    assert re.findall(r"<td>(user\d@example.org)</td>", by_id) == ["user3@example.org"]
    subject = client.get("/outbox/?q=Hello 9").get_data(as_text=True)
    assert re.findall(r"<td>(user\d@example.org)</td>", subject) == ["user9@example.org"]


def test_the_list_shows_and_filters_priority(client, auth, app, users, htmx_headers):
    with app.app_context():
        queue_messages(2, prefix="urgent", priority=OutboxPriority.URGENT)
        queue_messages(3, prefix="bulk", priority=OutboxPriority.BULK)
    auth.login_as("admin")
    everything = client.get("/outbox/").get_data(as_text=True)
    assert everything.count(">Urgent</td>") == 2 and everything.count(">Bulk</td>") == 3
    urgent = client.get("/outbox/?priority=0", headers=htmx_headers).get_data(as_text=True)
    assert sorted(re.findall(r"<td>(\w+\d@example.org)</td>", urgent)) == [
        "urgent0@example.org", "urgent1@example.org"]
    # Links that keep the filter keep the priority too.
    assert "priority=0" in urgent
    bulk = client.get("/outbox/?priority=2").get_data(as_text=True)
    assert len(re.findall(r'<tr id="message-', bulk)) == 3
    assert client.get("/outbox/?priority=7").status_code == 422
    with app.app_context():
        first = db.session.scalar(sa.select(sa.func.min(OutboxMessage.id)))
    detail = client.get(f"/outbox/{first}").get_data(as_text=True)
    assert re.search(r'id="message-priority">Urgent<', detail)


def test_a_date_range_that_ends_before_it_starts_is_refused_with_422(client, auth, app):
    auth.login_as("admin")
    response = client.get("/outbox/?date_from=2026-02-01&date_to=2026-01-01")
    assert response.status_code == 422
    assert "The end date is before the start date." in response.get_data(as_text=True)


def test_keyset_pagination_walks_every_message_once(make_app, smtp, users):
    app = make_app(OUTBOX_PAGE_SIZE=4)
    with app.app_context():
        queue_messages(10)
    client = app.test_client()
    client.post("/auth/login", data={"email": "admin@example.org",
                                     "password": factories.PASSWORD})
    seen, url = [], "/outbox/"
    while url:
        page = client.get(url).get_data(as_text=True)
        seen += [int(i) for i in re.findall(r'<tr id="message-(\d+)"', page)]
        older = re.search(r'href="(/outbox/\?before=\d+[^"]*)"', page)
        url = older.group(1).replace("&amp;", "&") if older else None
    assert seen == list(range(10, 0, -1))


def test_the_detail_shows_headers_html_sandboxed_text_and_attempts(client, auth, mixed):
    auth.login_as("admin")
    failed_id = mixed["failed"][0]
    page = client.get(f"/outbox/{failed_id}").get_data(as_text=True)
    assert "550" in page and "5.1.1 No such user" in page
    assert "Auto-Submitted" in page
    assert re.search(r'<iframe[^>]*sandbox srcdoc="&lt;meta http-equiv=&#34;Content-Security-Policy'
                     r'[^"]*&lt;p&gt;Hi \d&lt;/p&gt;"', page)
    assert client.get("/outbox/99999").status_code == 404


def test_retry_now_from_the_detail_makes_a_failed_message_due_and_records_it(
        client, auth, mixed, app, smtp, htmx_headers):
    auth.login_as("admin")
    failed_id = mixed["failed"][0]
    response = client.post(f"/outbox/{failed_id}/retry", headers=htmx_headers)
    assert response.status_code == 200
    assert response.get_data(as_text=True).lstrip().startswith('<article id="message-detail"')
    assert "outboxChanged" in response.headers["HX-Trigger"]
    with app.app_context():
        message = outbox.get(failed_id)
        assert message.state == "pending"
        entry = db.session.scalar(sa.select(AuditEntry).where(
            AuditEntry.action == "outbox.retry"))
        assert entry.object_id == failed_id and entry.actor.email == "admin@example.org"
    smtp.handler.rcpt_reply = None
    drain_once(app)
    assert [m.rcpt_tos for m in smtp.to(message.to_addr)] == [[message.to_addr]]
    with app.app_context():
        assert outbox.get(failed_id).state == "sent"


def test_retrying_a_sent_message_changes_nothing(client, auth, mixed, app, htmx_headers):
    auth.login_as("admin")
    sent_id = mixed["sent"][0]
    response = client.post(f"/outbox/{sent_id}/retry", headers=htmx_headers)
    assert response.status_code == 422
    with app.app_context():
        assert outbox.get(sent_id).state == "sent"
        assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id))
                                 .where(AuditEntry.object_type != "user")) == 0


def test_cancel_without_htmx_redirects_to_the_detail(client, auth, mixed, app):
    auth.login_as("admin")
    pending_id = mixed["pending"][0]
    response = client.post(f"/outbox/{pending_id}/cancel")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/outbox/{pending_id}")
    with app.app_context():
        assert outbox.get(pending_id).state == "cancelled"
        assert outbox.get(pending_id).cancel_reason == "Cancelled by admin@example.org"


def test_resend_asks_first_saying_the_person_is_emailed_again(client, auth, mixed, app,
                                                               htmx_headers):
    auth.login_as("admin")
    sent_id = mixed["sent"][0]
    detail = client.get(f"/outbox/{sent_id}").get_data(as_text=True)
    assert f'href="/outbox/{sent_id}/resend"' in detail  # a link to the question, not a POST
    page = client.get(f"/outbox/{sent_id}/resend").get_data(as_text=True)
    panel = client.get(f"/outbox/{sent_id}/resend", headers=htmx_headers).get_data(as_text=True)
    with app.app_context():
        address = outbox.get(sent_id).to_addr
        assert outbox.counters()["pending"] == len(mixed["pending"])  # asking queues nothing
    for html in (page, panel):
        assert "Send this email again?" in html and address in html
        assert f'action="/outbox/{sent_id}/resend"' in html
    assert "<html" in page and "<html" not in panel


def test_resend_queues_a_linked_copy_with_a_new_message_id(client, auth, mixed, app, smtp):
    auth.login_as("admin")
    sent_id = mixed["sent"][0]
    response = client.post(f"/outbox/{sent_id}/resend")
    assert response.status_code == 303
    copy_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        original, copy = outbox.get(sent_id), outbox.get(copy_id)
        assert copy.resent_from_id == original.id and copy.state == "pending"
        assert copy.message_id != original.message_id and copy.subject == original.subject
    drain_once(app)
    received = [m["Message-ID"] for m in smtp.to(original.to_addr)]
    assert received == [copy.message_id]


def test_bulk_retry_confirms_the_count_then_retries_the_filter(client, auth, mixed, app,
                                                               htmx_headers):
    auth.login_as("admin")
    confirm = client.get("/outbox/bulk?action=retry&state=failed", headers=htmx_headers)
    assert "Retry 2 failed or pending messages matching this filter?" in confirm.get_data(True)
    with app.app_context():
        assert outbox.counters()["failed"] == 2  # a confirmation changes nothing
    done = client.post("/outbox/bulk?state=failed", data={"action": "retry"},
                       headers=htmx_headers)
    assert done.headers["HX-Redirect"] == "/outbox/?state=failed"
    with app.app_context():
        assert outbox.counters()["failed"] == 0 and outbox.counters()["pending"] == 5
        entry = db.session.scalar(sa.select(AuditEntry)
                                  .where(AuditEntry.object_type != "user"))
        assert (entry.action, entry.summary) == ("outbox.bulk_retry",
                                                 "Retry 2 messages (state=failed)")


def test_bulk_cancel_without_htmx(client, auth, mixed, app):
    auth.login_as("admin")
    response = client.post("/outbox/bulk?state=pending", data={"action": "cancel"})
    assert response.status_code == 303
    with app.app_context():
        assert outbox.counters()["cancelled"] == 3 and outbox.counters()["failed"] == 2


def test_a_post_without_the_csrf_token_is_refused(make_app, users):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        queue_messages(1)
    client = app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/auth/login", data={"email": "admin@example.org",
                                     "password": factories.PASSWORD, "csrf_token": token})
    assert client.post("/outbox/1/cancel").status_code == 400
    with app.app_context():
        assert outbox.get(1).state == "pending"
