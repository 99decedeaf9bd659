"""Branding: the platform's name, logo and postal address in every email.

Revision ID: c8e2f4a6b1d3
Revises: b8d4f2a6c1e9
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = 'c8e2f4a6b1d3'
down_revision = 'b8d4f2a6c1e9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'branding',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('platform_name', sa.String(length=100), nullable=False),
        sa.Column('postal_address', sa.Text(), nullable=False),
        sa.Column('logo', sa.LargeBinary(), nullable=True),
        sa.Column('logo_type', sa.String(length=40), nullable=False),
        sa.Column('logo_hash', sa.String(length=64), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_branding')),
    )


def downgrade():
    op.drop_table('branding')
