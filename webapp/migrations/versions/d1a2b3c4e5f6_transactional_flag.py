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


# Plain ALTER TABLE on every database, SQLite included (3.35+ drops a column): a batch copy
# of `reminders` would drop the table, and with it (ON DELETE CASCADE) every reminder delivery.
# The defaults are literals ('1', '0': read as booleans by PostgreSQL and SQLite alike), which
# SQLite's ADD COLUMN takes.


def upgrade():
    op.add_column('triggers', sa.Column('transactional', sa.Boolean(), nullable=False,
                                        server_default='1'))
    op.add_column('reminders', sa.Column('transactional', sa.Boolean(), nullable=False,
                                         server_default='0'))


def downgrade():
    op.drop_column('reminders', 'transactional')
    op.drop_column('triggers', 'transactional')
