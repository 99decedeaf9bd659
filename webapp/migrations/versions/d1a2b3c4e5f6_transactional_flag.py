"""Automatic emails and reminders marked transactional or not (one-click unsubscribe).

Existing automatic emails stay transactional (acknowledgements, decisions), existing reminders
stay not transactional: what each one sent before, it sends after.

Revision ID: d1a2b3c4e5f6
Revises: c8e2f4a6b1d3
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = 'd1a2b3c4e5f6'
down_revision = 'c8e2f4a6b1d3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('triggers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transactional', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transactional', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.drop_column('transactional')
    with op.batch_alter_table('triggers', schema=None) as batch_op:
        batch_op.drop_column('transactional')
