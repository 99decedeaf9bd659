"""reminders, delayed and held status emails, time of entry in a status

Revision ID: e7a9c1d2b3f4
Revises: a6c9e3f1d4b5
Create Date: 2026-11-28 08:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e7a9c1d2b3f4'
down_revision = 'a6c9e3f1d4b5'
branch_labels = None
depends_on = None

STATES_BEFORE = "state IN ('pending', 'sending', 'sent', 'failed', 'cancelled')"
STATES_AFTER = "state IN ('pending', 'sending', 'sent', 'failed', 'cancelled', 'held')"


def upgrade():
    op.create_table('reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('offset_amount', sa.Integer(), nullable=False),
    sa.Column('offset_unit', sa.String(length=8), nullable=False),
    sa.Column('status_id', sa.Integer(), nullable=True),
    sa.Column('also_status_ids', sa.JSON(), nullable=False),
    sa.Column('repeat_every_days', sa.Integer(), nullable=True),
    sa.Column('max_times', sa.Integer(), nullable=False),
    sa.Column('to_candidate', sa.Boolean(), nullable=False),
    sa.Column('to_managers', sa.Boolean(), nullable=False),
    sa.Column('to_evaluators', sa.Boolean(), nullable=False),
    sa.Column('extra_addresses', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('last_run_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('before_closing', 'in_status')", name=op.f('ck_reminders_kind_valid')),
    sa.CheckConstraint("offset_unit IN ('days', 'hours')", name=op.f('ck_reminders_offset_unit_valid')),
    sa.CheckConstraint('offset_amount > 0', name=op.f('ck_reminders_offset_positive')),
    sa.CheckConstraint('max_times >= 1', name=op.f('ck_reminders_max_times_positive')),
    sa.CheckConstraint("kind = 'before_closing' OR status_id IS NOT NULL", name=op.f('ck_reminders_in_status_has_status')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_reminders_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['status_id'], ['statuses.id'], name=op.f('fk_reminders_status_id_statuses')),
    sa.ForeignKeyConstraint(['template_id'], ['email_templates.id'], name=op.f('fk_reminders_template_id_email_templates'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminders'))
    )
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.create_index('ix_reminders_campaign', ['campaign_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reminders_template_id'), ['template_id'], unique=False)

    with op.batch_alter_table('triggers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delay_minutes', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('hold_for_review', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_check_constraint(op.f('ck_triggers_delay_not_negative'), 'delay_minutes >= 0')

    # The time of entry in the current status: the last history row, else the creation.
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_changed_at', sa.DateTime(), nullable=True))
    op.execute(
        "UPDATE applications SET status_changed_at = COALESCE("
        "(SELECT MAX(sc.created_at) FROM status_changes sc "
        " WHERE sc.application_id = applications.id AND sc.to_status_id = applications.status_id), "
        "created_at)")
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.alter_column('status_changed_at', existing_type=sa.DateTime(), nullable=False)
        batch_op.create_index('ix_applications_campaign_status_since',
                              ['campaign_id', 'status_id', 'status_changed_at'], unique=False)

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_outbox_messages_state_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_outbox_messages_state_valid'), STATES_AFTER)


def downgrade():
    op.execute("UPDATE outbox_messages SET state = 'cancelled', "
               "cancel_reason = 'Held when the schema was downgraded' WHERE state = 'held'")
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_outbox_messages_state_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_outbox_messages_state_valid'), STATES_BEFORE)
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_index('ix_applications_campaign_status_since')
        batch_op.drop_column('status_changed_at')
    with op.batch_alter_table('triggers', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_triggers_delay_not_negative'), type_='check')
        batch_op.drop_column('hold_for_review')
        batch_op.drop_column('delay_minutes')
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reminders_template_id'))
        batch_op.drop_index('ix_reminders_campaign')
    op.drop_table('reminders')
