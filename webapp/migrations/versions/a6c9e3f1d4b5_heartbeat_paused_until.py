"""Worker heartbeat: until when the worker pauses because the relay could not be reached.

Revision ID: a6c9e3f1d4b5
Revises: f5b8d2e0c3a4
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = 'a6c9e3f1d4b5'
down_revision = 'f5b8d2e0c3a4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('worker_heartbeats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paused_until', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('worker_heartbeats', schema=None) as batch_op:
        batch_op.drop_column('paused_until')
