"""Worker heartbeat: why its last drain failed ("" when it finished well).

Revision ID: f5b8d2e0c3a4
Revises: 7b2e4c91a0f3
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = 'f5b8d2e0c3a4'
down_revision = '7b2e4c91a0f3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('worker_heartbeats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_drain_error', sa.Text(), server_default='',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('worker_heartbeats', schema=None) as batch_op:
        batch_op.drop_column('last_drain_error')
