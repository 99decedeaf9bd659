"""accounts: confirmed addresses, server-side sessions, sign-in throttling, system templates

Revision ID: 7b2e4c91a0f3
Revises: e4a7c1d9b2f3
Create Date: 2026-11-28 08:40:00

"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = '7b2e4c91a0f3'
down_revision = 'e4a7c1d9b2f3'
branch_labels = None
depends_on = None

# A snapshot, not an import: a migration must not change when the code does.
SYSTEM_TEMPLATES = {
    "account_confirmation": ("Account: confirm the email address", {
        "fr": (
            "Confirmez votre adresse e-mail · {{ platform_name }}",
            "<p>Bonjour {{ recipient_name }},</p>"
            "<p>Pour confirmer votre adresse et pouvoir envoyer vos candidatures, suivez ce "
            "lien :</p>"
            '<p><a href="{{ action_url }}">{{ action_url }}</a></p>'
            "<p>Ce lien est valable {{ link_expiry }}. Si vous n'avez pas créé de compte sur "
            "{{ platform_name }}, ignorez ce message.</p>"
            "<p>L'équipe {{ platform_name }}</p>",
        ),
        "en": (
            "Confirm your email address · {{ platform_name }}",
            "<p>Hello {{ recipient_name }},</p>"
            "<p>To confirm your address and be able to submit your applications, follow this "
            "link:</p>"
            '<p><a href="{{ action_url }}">{{ action_url }}</a></p>'
            "<p>This link is valid for {{ link_expiry }}. If you did not create an account on "
            "{{ platform_name }}, ignore this message.</p>"
            "<p>The {{ platform_name }} team</p>",
        ),
    }),
    "password_reset": ("Account: reset the password", {
        "fr": (
            "Choisir un nouveau mot de passe · {{ platform_name }}",
            "<p>Bonjour {{ recipient_name }},</p>"
            "<p>Une demande de nouveau mot de passe a été faite pour votre compte. Pour en "
            "choisir un, suivez ce lien :</p>"
            '<p><a href="{{ action_url }}">{{ action_url }}</a></p>'
            "<p>Ce lien est valable {{ link_expiry }} et ne sert qu'une fois. Si vous n'êtes pas "
            "à l'origine de cette demande, ignorez ce message : votre mot de passe ne change "
            "pas.</p>"
            "<p>L'équipe {{ platform_name }}</p>",
        ),
        "en": (
            "Choose a new password · {{ platform_name }}",
            "<p>Hello {{ recipient_name }},</p>"
            "<p>A new password was requested for your account. To choose one, follow this "
            "link:</p>"
            '<p><a href="{{ action_url }}">{{ action_url }}</a></p>'
            "<p>This link is valid for {{ link_expiry }} and works once. If you did not ask for "
            "it, ignore this message: your password does not change.</p>"
            "<p>The {{ platform_name }} team</p>",
        ),
    }),
    "account_invitation": ("Account: invitation", {
        "fr": (
            "Votre compte sur {{ platform_name }}",
            "<p>Bonjour {{ recipient_name }},</p>"
            "<p>Un compte a été créé pour vous sur {{ platform_name }}. Pour choisir votre mot "
            "de passe, suivez ce lien :</p>"
            '<p><a href="{{ action_url }}">{{ action_url }}</a></p>'
            "<p>Ce lien est valable {{ link_expiry }} et ne sert qu'une fois.</p>"
            "<p>L'équipe {{ platform_name }}</p>",
        ),
        "en": (
            "Your account on {{ platform_name }}",
            "<p>Hello {{ recipient_name }},</p>"
            "<p>An account was created for you on {{ platform_name }}. To choose your password, "
            "follow this link:</p>"
            '<p><a href="{{ action_url }}">{{ action_url }}</a></p>'
            "<p>This link is valid for {{ link_expiry }} and works once.</p>"
            "<p>The {{ platform_name }} team</p>",
        ),
    }),
}


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_confirmed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('confirmation_sent_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('password_reset_sent_at', sa.DateTime(), nullable=True))
    # Accounts made before addresses were confirmed keep working as they did.
    op.execute("UPDATE users SET email_confirmed_at = created_at")

    with op.batch_alter_table('email_templates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('system_key', sa.String(length=40), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_email_templates_system_key'),
                                          ['system_key'])

    op.create_table('user_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('client_address', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                            name=op.f('fk_user_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_user_sessions_token_hash'))
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('sign_in_throttles',
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', sa.DateTime(), nullable=False),
    sa.Column('blocked_until', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_sign_in_throttles'))
    )

    _add_system_templates()


def _add_system_templates():
    bind = op.get_bind()
    templates = sa.table(
        'email_templates', sa.column('id', sa.Integer), sa.column('name', sa.String),
        sa.column('default_locale', sa.String), sa.column('sender_name', sa.String),
        sa.column('reply_to', sa.String), sa.column('cc', sa.Text), sa.column('bcc', sa.Text),
        sa.column('system_key', sa.String), sa.column('created_at', sa.DateTime),
        sa.column('updated_at', sa.DateTime),
    )
    versions = sa.table(
        'email_template_versions', sa.column('template_id', sa.Integer),
        sa.column('locale', sa.String), sa.column('subject', sa.String),
        sa.column('body_html', sa.Text), sa.column('body_text', sa.Text),
    )
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    names = {row[0] for row in bind.execute(sa.select(templates.c.name))}
    for key, (name, by_locale) in SYSTEM_TEMPLATES.items():
        if name in names:
            name = f"{name} ({key})"
        template_id = bind.execute(
            sa.insert(templates).values(
                name=name, default_locale='fr', sender_name='', reply_to='', cc='', bcc='',
                system_key=key, created_at=now, updated_at=now,
            ).returning(templates.c.id)
        ).scalar_one()
        bind.execute(sa.insert(versions), [
            dict(template_id=template_id, locale=locale, subject=subject, body_html=body,
                 body_text='')
            for locale, (subject, body) in by_locale.items()
        ])


def downgrade():
    op.execute("DELETE FROM email_templates WHERE system_key IS NOT NULL")
    op.drop_table('sign_in_throttles')
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_sessions_user_id'))
    op.drop_table('user_sessions')
    with op.batch_alter_table('email_templates', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_email_templates_system_key'), type_='unique')
        batch_op.drop_column('system_key')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('password_reset_sent_at')
        batch_op.drop_column('confirmation_sent_at')
        batch_op.drop_column('email_confirmed_at')
