"""Outbox: rendered columns stored whole, an index for the purge's resend links, and the
worker's last database outage in its heartbeat.

Revision ID: b8d4f6a2c1e9
Revises: e7a1c9d2f3b4
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = 'b8d4f6a2c1e9'
down_revision = 'e7a1c9d2f3b4'
branch_labels = None
depends_on = None

# (column, length before): what a template renders, now stored whole.
WIDENED = (('sender', 320), ('to_name', 200), ('reply_to', 254), ('subject', 300))


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        for column, length in WIDENED:
            batch_op.alter_column(column, existing_type=sa.String(length), type_=sa.Text(),
                                  existing_nullable=False)
        batch_op.create_index('ix_outbox_messages_resent_from', ['resent_from_id'],
                              unique=False)
    with op.batch_alter_table('worker_heartbeats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('db_unreachable_since', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('db_unreachable_until', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('db_error', sa.Text(), server_default='',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('worker_heartbeats', schema=None) as batch_op:
        batch_op.drop_column('db_error')
        batch_op.drop_column('db_unreachable_until')
        batch_op.drop_column('db_unreachable_since')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_resent_from')
        for column, length in WIDENED:
            batch_op.alter_column(column, existing_type=sa.Text(), type_=sa.String(length),
                                  existing_nullable=False)
