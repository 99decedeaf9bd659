"""skipped recipients, audit details, the default acknowledgement's French name

Revision ID: e7a1c9d2f3b4
Revises: e7a9c1d2b3f4
Create Date: 2026-11-28 08:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e7a1c9d2f3b4'
down_revision = 'e7a9c1d2b3f4'
branch_labels = None
depends_on = None

OLD_NAME, NEW_NAME = "Acknowledgement of receipt", "Accusé de réception"


def upgrade():
    op.create_table('skipped_recipients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('trigger_id', sa.Integer(), nullable=True),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('event_type', sa.String(length=20), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('candidate', 'actor', 'managers', 'evaluators', 'address')", name=op.f('ck_skipped_recipients_kind_valid')),
    sa.CheckConstraint("reason IN ('nobody', 'inactive', 'no_access')", name=op.f('ck_skipped_recipients_reason_valid')),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_skipped_recipients_application_id_applications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['trigger_id'], ['triggers.id'], name=op.f('fk_skipped_recipients_trigger_id_triggers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['template_id'], ['email_templates.id'], name=op.f('fk_skipped_recipients_template_id_email_templates'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_skipped_recipients_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_skipped_recipients'))
    )
    with op.batch_alter_table('skipped_recipients', schema=None) as batch_op:
        batch_op.create_index('ix_skipped_recipients_application', ['application_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_skipped_recipients_trigger_id'), ['trigger_id'], unique=False)

    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('details', sa.JSON(), nullable=False, server_default='{}'))

    # The platform speaks French first: its default acknowledgement is named in French.
    templates = sa.table("email_templates", sa.column("name", sa.String))
    taken = op.get_bind().execute(
        sa.select(sa.func.count()).select_from(templates).where(templates.c.name == NEW_NAME)
    ).scalar()
    if not taken:
        op.execute(templates.update().where(templates.c.name == OLD_NAME).values(name=NEW_NAME))


def downgrade():
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_column('details')
    with op.batch_alter_table('skipped_recipients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_skipped_recipients_trigger_id'))
        batch_op.drop_index('ix_skipped_recipients_application')
    op.drop_table('skipped_recipients')
