"""default statuses: draft and submitted are required by the application

Revision ID: d3f1a2b4c5e6
Revises: cbbdbb191728
Create Date: 2026-11-27 22:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'd3f1a2b4c5e6'
down_revision = 'cbbdbb191728'
branch_labels = None
depends_on = None

# A snapshot, not an import: a migration must not change when the code does.
DEFAULT_STATUSES = [
    ("draft", "Draft", "Brouillon", "#6b7280", True),
    ("submitted", "Submitted", "Envoyé", "#2563eb", True),
    ("under_review", "Under review", "En cours d'évaluation", "#d97706", False),
    ("accepted", "Accepted", "Accepté", "#16a34a", False),
    ("rejected", "Rejected", "Refusé", "#dc2626", False),
    ("waiting_list", "Waiting list", "Liste d'attente", "#7c3aed", False),
]


def upgrade():
    statuses = sa.table(
        "statuses", sa.column("code", sa.String), sa.column("label_en", sa.String),
        sa.column("label_fr", sa.String), sa.column("colour", sa.String),
        sa.column("position", sa.Integer), sa.column("is_system", sa.Boolean),
    )
    existing = {row[0] for row in op.get_bind().execute(sa.select(statuses.c.code))}
    op.bulk_insert(statuses, [
        dict(code=code, label_en=en, label_fr=fr, colour=colour, position=position,
             is_system=required)
        for position, (code, en, fr, colour, required) in enumerate(DEFAULT_STATUSES)
        if code not in existing
    ])


def downgrade():
    op.execute("DELETE FROM statuses WHERE code IN ('draft', 'submitted', 'under_review', "
               "'accepted', 'rejected', 'waiting_list') AND id NOT IN "
               "(SELECT status_id FROM applications) AND id NOT IN "
               "(SELECT to_status_id FROM status_changes)")
