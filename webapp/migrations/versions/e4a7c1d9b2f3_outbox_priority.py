"""Outbox priority: urgent, normal, bulk; claims by priority through their own index.

Revision ID: e4a7c1d9b2f3
Revises: d3f1a2b4c5e6
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = 'e4a7c1d9b2f3'
down_revision = 'd3f1a2b4c5e6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority', sa.SmallInteger(), server_default='1',
                                      nullable=False))
        batch_op.create_check_constraint(op.f('ck_outbox_messages_priority_valid'),
                                         'priority IN (0, 1, 2)')
        batch_op.create_index('ix_outbox_messages_claim',
                              ['state', 'priority', 'next_attempt_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_claim')
        batch_op.drop_constraint(op.f('ck_outbox_messages_priority_valid'), type_='check')
        batch_op.drop_column('priority')
