"""reminders: a uid for dedupe keys, the closing date of the last run, deliveries

Revision ID: b3d5f7a9c1e2
Revises: b8d4f6a2c1e9
Create Date: 2026-12-03 08:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b3d5f7a9c1e2'
down_revision = 'b8d4f6a2c1e9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('uid', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('last_closes_at', sa.DateTime(), nullable=True))
    # Existing reminders keep their id as uid: the dedupe keys of what they already queued
    # stay the same. A run already made saw the current closing date.
    op.execute("UPDATE reminders SET uid = CAST(id AS VARCHAR(32))")
    op.execute("UPDATE reminders SET last_closes_at = (SELECT closes_at FROM campaigns "
               "WHERE campaigns.id = reminders.campaign_id) WHERE last_run_at IS NOT NULL")
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.alter_column('uid', existing_type=sa.String(length=32), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_reminders_uid'), ['uid'])

    op.create_table('reminder_deliveries',
    sa.Column('reminder_id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('occurrence', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_reminder_deliveries_application_id_applications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reminder_id'], ['reminders.id'], name=op.f('fk_reminder_deliveries_reminder_id_reminders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('reminder_id', 'application_id', 'occurrence', name=op.f('pk_reminder_deliveries'))
    )
    with op.batch_alter_table('reminder_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reminder_deliveries_application_id'), ['application_id'], unique=False)

    # What the outbox still knows of past reminders becomes their deliveries, so an edit
    # after the purge does not remind them again. Keys: reminder:{id}:{application}:{entry}:
    # {occurrence}:{address}; before the closing date the entry was "closing".
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT o.dedupe_key, o.application_id, c.closes_at, o.created_at "
        "FROM outbox_messages o JOIN reminders r ON r.id = o.event_id "
        "JOIN campaigns c ON c.id = r.campaign_id "
        "WHERE o.event_type = 'reminder' AND o.application_id IS NOT NULL")
        .columns(sa.column('dedupe_key', sa.String), sa.column('application_id', sa.Integer),
                 sa.column('closes_at', sa.DateTime), sa.column('created_at', sa.DateTime))
    ).all()
    seen = set()
    deliveries = []
    for key, application_id, closes_at, created_at in rows:
        parts = key.split(":")
        if len(parts) < 6 or parts[0] != "reminder" or not parts[1].isdigit():
            continue
        entry, number = parts[3], parts[4]
        if entry == "closing":
            entry = closes_at.strftime("%Y%m%d%H%M%S")
        one = (int(parts[1]), application_id, f"{entry}:{number}")
        if one not in seen:
            seen.add(one)
            deliveries.append(dict(reminder_id=one[0], application_id=one[1],
                                   occurrence=one[2], created_at=created_at))
    if deliveries:
        table = sa.table('reminder_deliveries', sa.column('reminder_id'),
                         sa.column('application_id'), sa.column('occurrence'),
                         sa.column('created_at'))
        op.bulk_insert(table, deliveries)


def downgrade():
    with op.batch_alter_table('reminder_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reminder_deliveries_application_id'))
    op.drop_table('reminder_deliveries')
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_reminders_uid'), type_='unique')
        batch_op.drop_column('last_closes_at')
        batch_op.drop_column('uid')
