"""What a template renders is stored whole: a long name in a long subject never fails the
status change that sends it (on SQLite, and on PostgreSQL, where a column's length is
enforced)."""

import email
from email.header import decode_header, make_header

import sqlalchemy as sa

from jobs.drain import drain_once
from tests import factories
from webapp.extensions import db as _db
from webapp.models import Application, Role
from webapp.models.outbox import OutboxMessage
from webapp.services import applications

LONG_FIRST, LONG_LAST = "Anne-" + "M" * 95, "de " + "L" * 97  # 100 characters each


def test_a_long_name_in_a_long_subject_is_sent_whole_and_the_status_change_holds(
        app, db, smtp):
    manager = factories.make_user(Role.MANAGER, email="boss@example.org")
    campaign = factories.make_campaign(label="Grants", managers=[manager])
    candidate = factories.make_user(Role.CANDIDATE, email="long@example.org",
                                    first_name=LONG_FIRST, last_name=LONG_LAST)
    subject = "Décision pour {{ recipient_name }} : {{ status_label }} — "
    subject += "x" * (300 - len(subject))  # a template subject at its 300-character limit
    template = factories.make_template(
        versions={"fr": (subject, "<p>Bonjour {{ recipient_name }}</p>")},
        sender_name="Bureau des bourses " + "b" * 180)
    factories.make_trigger(campaign, template, to_status="accepted", to_candidate=True)
    application = factories.make_application(campaign, candidate, status_code="submitted")
    _db.session.commit()

    result = applications.change_status(manager, application.id,
                                        factories.status("accepted").id)

    assert (result.moved, result.queued, result.failed) == (1, 1, 0)
    _db.session.expire_all()
    assert _db.session.get(Application, application.id).status.code == "accepted"
    row = _db.session.scalars(sa.select(OutboxMessage)).one()
    name = f"{LONG_FIRST} {LONG_LAST}"
    assert row.to_name == name and len(row.subject) > 300 and name in row.subject

    assert drain_once(app, "w1")["sent"] == 1
    [received] = smtp.messages
    assert name in str(received.message["Subject"])
    assert str(received.message["Subject"]).endswith("x" * 50)
    # Decoded as mail clients do (RFC 2047: the folding between encoded words is not text).
    raw_to = email.message_from_bytes(received.data)["To"]
    assert str(make_header(decode_header(raw_to))) == f"{name} <long@example.org>"


def test_a_dedupe_key_for_the_longest_address_fits_its_column_and_stays_distinct(app, db):
    from webapp import outbox

    local = "a" * 64
    first = f"{local}@{'d' * 63}.{'e' * 63}.{'f' * 57}.org"
    second = first.replace("@d", "@g")
    assert len(first) == 254
    keys = {outbox.dedupe_key(12, "status_changed", 123456789, address)
            for address in (first, second)}
    assert len(keys) == 2 and all(len(key) <= 255 for key in keys)
    assert outbox.dedupe_key(1, "submitted", 5, "A@b.org") == "1:submitted:5:a@b.org"
