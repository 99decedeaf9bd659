"""Delayed and held status emails: the real database, the real drain, the real SMTP server."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from jobs.drain import drain_once
from tests import factories
from tests.outbox_support import clock_fixture, delivered  # noqa: F401
from webapp.core.errors import NotAllowed, ValidationFailed
from webapp.extensions import db as _db
from webapp.models import AuditEntry, Role
from webapp.models.outbox import OutboxMessage
from webapp.services import applications, held_emails
from webapp.services.applications import Selection


def _rows() -> list[OutboxMessage]:
    _db.session.expire_all()
    return list(_db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


@pytest.fixture(autouse=True)
def in_english(app, db):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


@pytest.fixture
def world(db, clock):
    clock.freeze()
    manager = factories.make_user(Role.MANAGER, email="boss@example.org")
    evaluator = factories.make_user(Role.EVALUATOR, email="eve@example.org")
    campaign = factories.make_campaign(label="Grants", managers=[manager],
                                       evaluators=[evaluator])
    template = factories.make_template(name="Decision",
                                       subject="Decision: {{ status_label }}")
    apps = [factories.make_application(campaign, factories.make_user(
        Role.CANDIDATE, email=f"cand{i}@example.org"), status_code="submitted")
        for i in range(3)]
    _db.session.commit()
    return dict(manager=manager, evaluator=evaluator, campaign=campaign, template=template,
                apps=apps)


def _decide(world, status: str, apps=None):
    ids = tuple(a.id for a in (apps or world["apps"]))
    return applications.bulk_change_status(world["manager"],
                                           Selection(world["campaign"].id, ids=ids),
                                           factories.status(status).id)


def _group(world, status: str = "accepted") -> held_emails.HeldGroup:
    return held_emails.group(world["campaign"], world["trigger"].id, factories.status(status).id)


def _release(world, group, **options) -> int:
    return held_emails.release(world["manager"], world["campaign"], group.trigger_id,
                               group.status_id, group.version, **options)


def _cancel(world, group, actor=None) -> int:
    return held_emails.cancel(actor or world["manager"], world["campaign"], group.trigger_id,
                              group.status_id, group.version)


def _hold(world, to_status: str = "accepted"):
    world["trigger"] = factories.make_trigger(world["campaign"], world["template"],
                                              to_status=to_status, hold_for_review=True)
    _db.session.commit()
    return world["trigger"]


def test_a_delayed_email_waits_then_leaves(app, world, clock, smtp):
    factories.make_trigger(world["campaign"], world["template"], delay_minutes=120)
    _db.session.commit()
    _decide(world, "accepted", world["apps"][:1])
    drain_once(app)
    assert smtp.messages == []
    clock.advance(minutes=119)
    drain_once(app)
    assert smtp.messages == []
    clock.advance(minutes=1)
    drain_once(app)
    assert [m.rcpt_tos for m in smtp.messages] == [["cand0@example.org"]]


def test_a_delayed_email_is_cancelled_by_a_new_status_change(app, world, clock, smtp):
    factories.make_trigger(world["campaign"], world["template"], delay_minutes=120)
    _db.session.commit()
    _decide(world, "accepted", world["apps"][:1])
    clock.advance(hours=1)
    result = _decide(world, "rejected", world["apps"][:1])
    assert result.cancelled == 1
    [row] = _rows()
    assert row.state == "cancelled"
    assert row.cancel_reason == ("Superseded by a later decision: the application moved to "
                                 "Rejected.")
    clock.advance(hours=2)
    drain_once(app)
    assert smtp.messages == []


def test_held_emails_are_never_claimed_until_released_then_sent_exactly_once(
        app, world, clock, smtp):
    _hold(world)
    result = _decide(world, "accepted")
    assert result.queued == 3
    assert {r.state for r in _rows()} == {"held"}
    for _ in range(3):
        drain_once(app)
        clock.advance(days=3)
    assert smtp.messages == []
    [group] = held_emails.groups(world["campaign"].id)
    assert (group.template_name, group.status.code, group.count, group.recipients) == (
        "Decision", "accepted", 3, 3)
    assert group.sample.subject == "Decision: Accepted"
    assert [r.to_addr for r in group.listed] == [
        "cand0@example.org", "cand1@example.org", "cand2@example.org"]

    with pytest.raises(ValidationFailed, match="there are now 3"):
        held_emails.release(world["manager"], world["campaign"], group.trigger_id,
                            group.status_id, "another-version")
    assert {r.state for r in _rows()} == {"held"}

    assert _release(world, group) == 3
    drain_once(app)
    drain_once(app)
    counts = delivered(smtp)
    assert len(counts) == 3 and set(counts.values()) == {1}
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == [
        "cand0@example.org", "cand1@example.org", "cand2@example.org"]
    assert held_emails.groups(world["campaign"].id) == []
    entry = _db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.action == "held.released")).one()
    assert entry.actor_id == world["manager"].id
    assert entry.summary == "Released 3 held emails of Decision (Accepted)"


def test_held_emails_released_from_a_chosen_moment(app, world, clock, smtp):
    _hold(world)
    _decide(world, "accepted")
    group = _group(world)
    with pytest.raises(ValidationFailed, match="in the future"):
        _release(world, group, not_before=clock.now())
    _release(world, group, not_before=clock.now() + timedelta(days=1))
    drain_once(app)
    assert smtp.messages == []
    clock.advance(days=1)
    drain_once(app)
    assert len(smtp.messages) == 3


def test_held_emails_cancelled_by_a_manager_or_superseded_by_a_later_decision(
        app, world, clock, smtp):
    accepted, rejected = _hold(world, "accepted"), _hold(world, "rejected")
    _decide(world, "accepted")
    _decide(world, "rejected", world["apps"][:1])  # held again, the "accepted" one cancelled
    states = sorted((r.subject, r.state) for r in _rows())
    assert states == [("Decision: Accepted", "cancelled"), ("Decision: Accepted", "held"),
                      ("Decision: Accepted", "held"), ("Decision: Rejected", "held")]
    for trigger, status, count in ((accepted, "accepted", 2), (rejected, "rejected", 1)):
        world["trigger"] = trigger
        assert _cancel(world, _group(world, status)) == count
    assert {r.state for r in _rows()} == {"cancelled"}
    assert "while held for review" in _rows()[-1].cancel_reason
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "held.cancelled")) == 2
    clock.advance(days=1)
    drain_once(app)
    assert smtp.messages == []


def test_only_platform_managers_release_or_cancel(world):
    _hold(world)
    _decide(world, "accepted")
    group = _group(world)
    with pytest.raises(NotAllowed):
        _release(dict(world, manager=world["evaluator"]), group)
    with pytest.raises(NotAllowed):
        _cancel(world, group, actor=world["evaluator"])
    assert {r.state for r in _rows()} == {"held"}
