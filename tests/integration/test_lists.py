"""Lists as people use them: sorted by a column (server-side, keyset pages, filter kept), a
select-all box, CSV exports of what the list shows, and a 403 page with a way back."""

import csv
import io
import re
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from tests import factories
from webapp.extensions import db as _db
from webapp.models import User
from webapp.services import applications
from webapp.services.applications import Selection, Sort


def _user(email):
    return _db.session.scalars(sa.select(User).where(User.email == email)).one()


@pytest.fixture
def grants(app, users):
    """Seven applications with known titles, names, statuses and submission times."""
    with app.app_context():
        campaign = factories.make_campaign(label="Grants")
        base = datetime(2026, 3, 1, 9, 0)
        plans = [("delta", "Zola", "submitted", 3), ("alpha", "Martin", "accepted", 1),
                 ("echo", "Abel", "draft", None), ("bravo", "Noor", "submitted", 5),
                 ("charlie", "Abel", "rejected", 2), ("=HYPERLINK(1)", "Yu", "submitted", 4),
                 ("foxtrot", "Lee", "draft", None)]
        ids = {}
        for title, last, code, day in plans:
            person = factories.make_user(email=f"{title[:5].lower().strip('=')}@example.org",
                                         last_name=last)
            application = factories.make_application(campaign, person, status_code=code,
                                                     title=title)
            application.submitted_at = base + timedelta(days=day) if day else None
            ids[title] = application.id
        _db.session.commit()
        return {"campaign": campaign.id, "ids": ids}


def _titles(page):
    return [a.title for a in page.rows]


@pytest.mark.parametrize("sort,expected", [
    ("title", ["=HYPERLINK(1)", "alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]),
    ("-submitted", ["bravo", "=HYPERLINK(1)", "delta", "charlie", "alpha", "foxtrot", "echo"]),
    ("candidate", ["echo", "charlie", "foxtrot", "alpha", "bravo", "=HYPERLINK(1)", "delta"]),
    ("", ["foxtrot", "=HYPERLINK(1)", "charlie", "bravo", "echo", "alpha", "delta"]),
])
def test_every_sort_walks_all_rows_once_in_order_across_keyset_pages(app, grants, sort,
                                                                     expected):
    with app.app_context():
        manager = _user("manager@example.org")
        selection = Selection(grants["campaign"], all_matching=True)
        seen, after = [], None
        while True:
            page = applications.list_applications(manager, selection, after, limit=3,
                                                  sort=Sort.parse(sort, applications.SORT_KEYS))
            seen += _titles(page)
            if not page.next:
                break
            after = page.next["after"]
        if sort == "candidate":  # two Abels: the id breaks the tie, the order is stable
            assert seen[:2] in (["echo", "charlie"], ["charlie", "echo"])
            assert seen[2:] == expected[2:]
        else:
            assert seen == expected


def test_the_list_page_sorts_by_column_and_keeps_its_filter(client, auth, grants, app):
    auth.login_as("manager")
    with app.app_context():
        submitted = factories.status("submitted").id
    url = f"/applications/campaigns/{grants['campaign']}"
    html = client.get(f"{url}?status={submitted}&sort=-title").get_data(as_text=True)
    rows = re.findall(r'<tr id="application-(\d+)"', html)
    assert [int(r) for r in rows] == [grants["ids"][t] for t in ("delta", "bravo",
                                                                 "=HYPERLINK(1)")]
    assert 'aria-sort="descending"' in html
    # Each header keeps the filter; the sorted one offers the other direction.
    assert f'href="{url}?status={submitted}&amp;sort=title"' in html
    assert f'href="{url}?status={submitted}&amp;sort=reference"' in html
    # The filter form carries the order, so a new search keeps it.
    assert '<input type="hidden" name="sort" value="-title" form="application-filters">' in html
    assert "data-select-all" in html
    assert client.get(f"{url}?sort=nonsense").status_code == 200  # unknown: the default order


def _csv(response):
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_the_csv_export_is_the_filtered_sorted_list_safe_for_spreadsheets(
        client, auth, grants, app):
    auth.login_as("manager")
    with app.app_context():
        submitted = factories.status("submitted").id
    url = f"/applications/campaigns/{grants['campaign']}/export.csv"
    rows = _csv(client.get(f"{url}?status={submitted}&sort=title"))
    assert rows[0][:6] == ["Reference", "Last name", "First name", "Email", "Title", "Status"]
    assert [r[4] for r in rows[1:]] == ["'=HYPERLINK(1)", "bravo", "delta"]  # not a formula
    assert {r[5] for r in rows[1:]} == {"Submitted"}
    bravo = rows[2]
    assert bravo[1] == "Noor" and bravo[3] == "bravo@example.org"
    assert bravo[6] == "2026-03-06T10:00+01:00"  # the platform's time, with its offset
    assert len(_csv(client.get(url))) == 1 + 7


def test_the_csv_export_is_refused_to_who_may_not_see_the_list(client, auth, grants):
    url = f"/applications/campaigns/{grants['campaign']}/export.csv"
    assert "/auth/login" in client.get(url).headers["Location"]
    auth.login_as("candidate")
    assert client.get(url).status_code == 403
    auth.logout()
    auth.login_as("evaluator")  # not assigned to this campaign
    assert client.get(url).status_code == 403


def test_a_large_export_is_streamed_in_chunks(app, grants):
    with app.app_context():
        manager = _user("manager@example.org")
        rows = applications.export_rows(
            manager, Selection(grants["campaign"], all_matching=True), chunk=2)
        assert not isinstance(rows, list)  # a generator: rows are read as they are written
        assert len(list(rows)) == 7


# --- the Outbox ---------------------------------------------------------------------------


@pytest.fixture
def outbox_rows(app, users):
    """Two automatic emails of a campaign, each with messages, and messages of no trigger."""
    from tests.outbox_support import queue_messages
    from webapp.models import EventType

    with app.app_context():
        campaign = factories.make_campaign(label="Ocean grants")
        ack = factories.make_trigger(campaign, factories.make_template(name="Thanks"),
                                     event=EventType.SUBMITTED)
        decision = factories.make_trigger(campaign, factories.make_template(name="Good news"),
                                          to_status="accepted")
        _db.session.commit()
        queue_messages(3, prefix="thanks", trigger_id=ack.id, campaign_id=campaign.id)
        queue_messages(2, prefix="good", trigger_id=decision.id, campaign_id=campaign.id,
                       subject="=cmd|' /C calc'!A0")
        queue_messages(4, prefix="other")
        return {"ack": ack.id, "decision": decision.id}


def test_the_outbox_filters_by_automatic_email_chosen_by_name(client, auth, outbox_rows):
    auth.login_as("admin")
    html = client.get("/outbox/").get_data(as_text=True)
    assert (f'<option value="{outbox_rows["decision"]}">Ocean grants · Good news '
            "(on status change)</option>") in html
    assert 'type="number"' not in html
    filtered = client.get(f"/outbox/?trigger={outbox_rows['decision']}").get_data(as_text=True)
    assert filtered.count('<tr id="message-') == 2 and "good0@example.org" in filtered
    assert client.get("/outbox/?trigger=abc").status_code == 422


def test_the_outbox_csv_is_the_filtered_list(client, auth, outbox_rows):
    auth.login_as("admin")
    rows = _csv(client.get(f"/outbox/export.csv?trigger={outbox_rows['decision']}"))
    assert rows[0][:5] == ["Id", "Created", "State", "Recipient", "Subject"]
    assert sorted(r[3] for r in rows[1:]) == ["good0@example.org", "good1@example.org"]
    assert {r[4] for r in rows[1:]} == {"'=cmd|' /C calc'!A0"}  # never a formula
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d[+-]\d\d:\d\d", rows[1][1])
    assert len(_csv(client.get("/outbox/export.csv"))) == 1 + 9
    assert len(_csv(client.get("/outbox/export.csv?q=other"))) == 1 + 4


def test_the_outbox_csv_is_for_admins_only(client, auth, outbox_rows):
    auth.login_as("manager")
    assert client.get("/outbox/export.csv").status_code == 403


def test_the_outbox_export_reads_keyset_chunks(app, outbox_rows):
    from webapp import outbox

    with app.app_context():
        ids = [row[0] for row in outbox.export_rows(outbox.Filter(), chunk=2)]
        assert ids == sorted(ids, reverse=True) and len(set(ids)) == 9


def test_the_403_page_offers_a_way_back(client, auth):
    auth.login_as("candidate")
    page = client.get("/outbox/", headers={"Referer": "http://localhost/my/applications"})
    assert page.status_code == 403
    html = page.get_data(as_text=True)
    assert '<a href="/my/applications">Back to the previous page</a>' in html
    assert "Go to the home page" in html and "Sign in with another account" in html
    elsewhere = client.get("/outbox/", headers={"Referer": "http://evil.example/x"})
    assert "Back to the previous page" not in elsewhere.get_data(as_text=True)
    # A path that a `next` target could not be either (it reads as //evil.example once
    # decoded).
    encoded = client.get("/outbox/", headers={"Referer": "http://localhost/%2F%2Fevil.example"})
    assert "Back to the previous page" not in encoded.get_data(as_text=True)
    fragment = client.get("/outbox/", headers={"HX-Request": "true"})
    assert fragment.status_code == 403 and "<html" not in fragment.get_data(as_text=True)


# --- campaigns and templates ----------------------------------------------------------------


def test_campaigns_come_in_pages_sorted_by_a_column_keeping_the_search(client, auth, app):
    with app.app_context():
        for n in range(27):
            factories.make_campaign(label=f"Grant {n:02d}", closes_in_days=30 + n)
        factories.make_campaign(label="Other")
        _db.session.commit()
    auth.login_as("manager")
    first = client.get("/campaigns/?q=grant&sort=label").get_data(as_text=True)
    labels = re.findall(r">(Grant \d\d)</a>", first)
    assert labels == [f"Grant {n:02d}" for n in range(25)]
    assert 'href="/campaigns/?q=grant&amp;sort=label&amp;page=2"' in first
    second = client.get("/campaigns/?q=grant&sort=label&page=2").get_data(as_text=True)
    assert re.findall(r">(Grant \d\d)</a>", second) == ["Grant 25", "Grant 26"]
    assert "Previous page" in second and "Next page" not in second
    newest = client.get("/campaigns/?q=grant", headers={"HX-Request": "true"})
    assert newest.get_data(as_text=True).lstrip().startswith('<div id="campaign-list">')
    assert re.findall(r">(Grant \d\d)</a>", newest.get_data(as_text=True))[0] == "Grant 26"


def test_templates_come_in_pages_sorted_by_name_either_way(client, auth, app):
    with app.app_context():
        for n in range(26):
            factories.make_template(name=f"Letter {n:02d}")
        _db.session.commit()
    auth.login_as("manager")
    html = client.get("/email-templates/?sort=-name").get_data(as_text=True)
    names = re.findall(r">(Letter \d\d)</a>", html)
    assert names[:2] == ["Letter 25", "Letter 24"] and len(names) == 25
    assert 'aria-sort="descending"' in html
    last = client.get("/email-templates/?sort=-name&page=2").get_data(as_text=True)
    assert re.findall(r">(Letter \d\d)</a>", last) == ["Letter 00"]


def test_a_french_export_opens_in_french_spreadsheets(client, auth, grants, app):
    """French spreadsheets split on `;` and read dates as day/month/year; English stays `,`."""
    auth.login_as("manager")
    client.post("/language", data={"locale": "fr", "next": "/"})
    with app.app_context():
        submitted = factories.status("submitted").id
    url = f"/applications/campaigns/{grants['campaign']}/export.csv?status={submitted}&sort=title"
    body = client.get(url).get_data()
    assert body.startswith("\ufeff".encode())
    text = body.decode("utf-8").lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][:3] == ["Référence", "Nom", "Prénom"]
    assert rows[2][1] == "Noor"
    assert rows[2][6] == "06/03/2026 10:00"
    client.post("/language", data={"locale": "en", "next": "/"})
    english = client.get(url).get_data(as_text=True)
    assert english.splitlines()[0].count(",") >= 7 and ";" not in english.splitlines()[0]
