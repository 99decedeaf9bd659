"""The purge grows with the rows it deletes: every statement it runs seeks an index (the
resends of a purged row are found through ix_outbox_messages_resent_from), and a resend it
unlinks keeps its own age."""

from datetime import timedelta

import sqlalchemy as sa

from tests.outbox_support import clock_fixture, queue_messages  # noqa: F401
from webapp import outbox
from webapp.core import clock as core_clock
from webapp.extensions import db
from webapp.models.outbox import OutboxMessage


def _age(ids, days):
    db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(
        state="sent", updated_at=core_clock.now() - timedelta(days=days)))
    db.session.commit()


def test_the_purge_unlinks_resends_keeps_their_age_and_deletes_both_states(make_app):
    app = make_app(OUTBOX_RETENTION_DAYS=90, OUTBOX_PURGE_BATCH_SIZE=2)
    with app.app_context():
        queue_messages(6, prefix="old")
        queue_messages(3, prefix="kept")
        ids = db.session.scalars(sa.select(OutboxMessage.id).order_by(OutboxMessage.id)).all()
        old, kept = ids[:6], ids[6:]
        _age(old, 100)
        db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id.in_(old[3:]))
                           .values(state="cancelled", updated_at=OutboxMessage.updated_at))
        _age(kept[:1], 10)  # a recent resend of an old row: kept, with its age
        db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id == kept[0])
                           .values(resent_from_id=old[0]))
        db.session.commit()
        before = db.session.get(OutboxMessage, kept[0]).updated_at

        assert outbox.purge() == 6

        db.session.expire_all()
        left = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [m.id for m in left] == kept
        assert left[0].resent_from_id is None and left[0].updated_at == before


def _plans(statements):
    with db.engine.connect() as connection:
        for statement, parameters in statements:
            yield statement, " / ".join(row[-1] for row in connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, parameters))


def test_every_statement_of_the_purge_seeks_an_index(make_app):
    app = make_app(OUTBOX_RETENTION_DAYS=90, OUTBOX_PURGE_BATCH_SIZE=50)
    with app.app_context():
        if db.engine.dialect.name != "sqlite":  # the plans read here are SQLite's
            return
        queue_messages(200)
        ids = db.session.scalars(sa.select(OutboxMessage.id).order_by(OutboxMessage.id)).all()
        _age(ids[:100], 100)
        statements = []

        def capture(conn, cursor, statement, parameters, context, executemany):
            if not statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")):
                return
            statements.append((statement, parameters))

        sa.event.listen(db.engine, "before_cursor_execute", capture)
        try:
            assert outbox.purge() == 100
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", capture)
        assert statements
        with db.engine.connect() as connection:
            plan = " / ".join(row[-1] for row in connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN DELETE FROM outbox_messages WHERE id IN (1, 2)"))
        # ON DELETE SET NULL looks up the rows that were resent from a deleted one.
        assert "ix_outbox_messages_resent_from" in plan, plan
        for statement, plan in _plans(statements):
            assert "SCAN outbox_messages" not in plan, (statement, plan)
            assert "TEMP B-TREE" not in plan, (statement, plan)


def test_the_default_batch_purges_thousands_of_rows_in_more_than_one_batch(make_app):
    """Batches of OUTBOX_PURGE_BATCH_SIZE (5,000 by default: a batch of 1,000 made the time
    per purged row grow with the outbox): a list of that many ids is one statement on either
    database, and the resends of rows of either batch are unlinked."""
    app = make_app(OUTBOX_RETENTION_DAYS=90)
    batch = app.config["OUTBOX_PURGE_BATCH_SIZE"]
    with app.app_context():
        queue_messages(batch + 500, prefix="old")
        queue_messages(200, prefix="kept")
        ids = db.session.scalars(sa.select(OutboxMessage.id).order_by(OutboxMessage.id)).all()
        old, kept = ids[:batch + 500], ids[batch + 500:]
        _age(old, 100)
        for resend, original in ((kept[0], old[0]), (kept[1], old[-1])):
            db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id == resend)
                               .values(resent_from_id=original))
        db.session.commit()

        assert outbox.purge() == batch + 500

        db.session.expire_all()
        assert db.session.scalars(sa.select(OutboxMessage.id)
                                  .order_by(OutboxMessage.id)).all() == kept
        assert db.session.scalars(sa.select(OutboxMessage.resent_from_id)
                                  .where(OutboxMessage.id.in_(kept[:2]))).all() == [None, None]
