"""`make run`: the embedded worker and the development mail catcher with its Mailbox page."""

import time

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from jobs import embedded
from jobs.drain import drain_once
from jobs.scheduler import build_scheduler
from tests import factories
from tests.outbox_support import queue_messages
from tests.smtp_server import free_port
from webapp import outbox
from webapp.extensions import db

FLAGS = {"EMBEDDED_WORKER": True, "DEV_MAIL_CATCHER": True}


@pytest.mark.parametrize("config, debug, command, environ, expected", [
    (FLAGS, True, "run", {"WERKZEUG_RUN_MAIN": "true"}, True),  # the reloader's child serves
    (FLAGS, True, "run", {}, False),  # the reloader's parent only watches files
    (FLAGS, False, "run", {}, True),  # no reloader: one process
    (FLAGS, False, "worker", {}, False),  # other commands never start it
    (FLAGS, False, None, {"SERVER_SOFTWARE": "gunicorn/23.0.0"}, False),
    (FLAGS, False, "run", {"SERVER_SOFTWARE": "gunicorn/23.0.0"}, False),
    ({}, False, "run", {}, False),  # flags off
])
def test_the_embedded_pieces_start_once_and_only_under_flask_run(config, debug, command,
                                                                 environ, expected):
    assert embedded.should_start(config, debug=debug, command=command,
                                 environ=environ) is expected


def test_the_scheduler_has_its_jobs_one_drain_at_a_time(app):
    scheduler = build_scheduler(app, "w1", BackgroundScheduler)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"drain", "reaper", "purge", "heartbeat", "accounts-purge",
                         "reminders", "reminder-moments", "documents-purge"}
    # The drain runs once, then schedules its next run a poll after it ended: never due while
    # it runs, so no "maximum number of running instances reached" during a long drain.
    assert jobs["drain"].max_instances == 1 and str(jobs["drain"].trigger).startswith("date[")
    assert str(jobs["purge"].trigger).startswith("cron[")
    # Reminders: hourly at minute 0, in the platform's time zone; a late run runs once.
    reminders = jobs["reminders"]
    assert str(reminders.trigger) == "cron[month='*', day='*', day_of_week='*', hour='*', " \
        "minute='0']"
    assert str(reminders.trigger.timezone) == app.config["BABEL_DEFAULT_TIMEZONE"]
    assert reminders.coalesce is True and reminders.max_instances == 1


def test_a_background_scheduler_drains_and_beats(make_app, smtp):
    app = make_app(OUTBOX_POLL_SECONDS=1)
    with app.app_context():
        ids = queue_messages(3)
    scheduler = build_scheduler(app, "embedded-test", BackgroundScheduler)
    scheduler.start()
    try:
        deadline = time.monotonic() + 30
        while len(smtp.messages) < 3:
            assert time.monotonic() < deadline, "the embedded worker never drained"
            time.sleep(0.05)
        # The next drain is scheduled a poll after this one ended.
        while (job := scheduler.get_job("drain")) is None:
            assert time.monotonic() < deadline, "the next drain was never scheduled"
            time.sleep(0.05)
        assert str(job.trigger).startswith("date[")
    finally:
        scheduler.shutdown(wait=True)
    assert sorted(m["Message-ID"] for m in smtp.messages) == sorted(ids)
    with app.app_context():
        assert outbox.health().worker_missing is False


@pytest.fixture
def catcher_app(make_app, users):
    app = make_app(DEV_MAIL_CATCHER=True, DEV_MAIL_CATCHER_PORT=free_port())
    controller = embedded.start_catcher(app)
    yield app
    controller.stop()


def _admin(app):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.post("/auth/login", data={"email": "admin@example.org",
                                     "password": factories.PASSWORD})
    return client


def test_the_catcher_keeps_what_the_worker_sends_and_the_mailbox_shows_it(catcher_app):
    app = catcher_app
    assert app.config["MAIL_PORT"] == app.config["DEV_MAIL_CATCHER_PORT"]
    with app.app_context():
        outbox.enqueue(key="k", to_addr="zoe@example.org", subject="Accusé de réception",
                       body_html="<p>Bonjour <b>Zoé</b></p>", body_text="Bonjour Zoé",
                       bcc="hidden@example.org")
        db.session.commit()
    assert drain_once(app)["sent"] == 1

    client = _admin(app)
    listing = client.get("/mailbox/").get_data(as_text=True)
    assert 'href="/mailbox/"' in listing  # the menu link
    assert "Accusé de réception" in listing
    assert "zoe@example.org, hidden@example.org" in listing
    name = listing.split('href="/mailbox/', 2)[2].split('"')[0]
    shown = client.get(f"/mailbox/{name}").get_data(as_text=True)
    assert "Bonjour Zoé" in shown
    assert 'sandbox srcdoc="&lt;meta http-equiv=&#34;Content-Security-Policy&#34;' in shown
    assert "&lt;p&gt;Bonjour &lt;b&gt;Zoé&lt;/b&gt;&lt;/p&gt;" in shown
    assert client.get("/mailbox/..%2Fsecret_key").status_code == 404

    assert client.post("/mailbox/clear").status_code == 303
    assert "No message caught yet." in client.get("/mailbox/").get_data(as_text=True)


@pytest.mark.parametrize("role", ["manager", "candidate"])
def test_only_admins_read_the_mailbox(catcher_app, role):
    client = catcher_app.test_client()
    client.post("/auth/login", data={"email": f"{role}@example.org",
                                     "password": factories.PASSWORD})
    assert client.get("/mailbox/").status_code == 403
    assert client.post("/mailbox/clear").status_code == 403


def test_without_the_catcher_there_is_no_mailbox_and_no_menu_link(client, auth):
    auth.login_as("admin")
    assert client.get("/mailbox/").status_code == 404
    assert 'href="/mailbox/"' not in client.get("/outbox/").get_data(as_text=True)


def test_the_mailbox_refreshes_itself_only_when_a_message_arrives(catcher_app):
    app = catcher_app
    client = _admin(app)
    page = client.get("/mailbox/").get_data(as_text=True)
    poll = page.split('id="mailbox-list" hx-get="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert 'hx-trigger="every 3s"' in page
    htmx = {"HX-Request": "true"}
    assert client.get(poll, headers=htmx).status_code == 204  # nothing new: nothing swapped
    with app.app_context():
        outbox.enqueue(key="k", to_addr="zoe@example.org", subject="Nouveau message",
                       body_html="<p>Bonjour</p>", body_text="Bonjour")
        db.session.commit()
    assert drain_once(app)["sent"] == 1
    fresh = client.get(poll, headers=htmx)
    assert fresh.status_code == 200
    text = fresh.get_data(as_text=True)
    assert text.startswith("<div id=\"mailbox-list\"") or 'id="mailbox-list"' in text
    assert "<html" not in text and "Nouveau message" in text
    newer = text.split('hx-get="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert newer != poll and client.get(newer, headers=htmx).status_code == 204


@pytest.mark.parametrize("name", [
    "9" * 3000 + "-0123abcd.eml",
    "1" * 300 + "-0123abcd.eml",
    "0" * 40 + "-0123abcd.eml",
    "1700000000000000000-0123abcd.eml\x00",
    "..%2F..%2Fetc%2Fpasswd",
    "1700000000000000000-0123abcd.eml" + "x" * 300,
])
def test_a_mailbox_name_no_catcher_could_write_is_not_found(catcher_app, name):
    from pathlib import Path

    (Path(catcher_app.instance_path) / "mailbox").mkdir(parents=True, exist_ok=True)
    client = _admin(catcher_app)
    assert client.get(f"/mailbox/{name}").status_code == 404
