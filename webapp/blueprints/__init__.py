"""The one list of blueprints and their URL prefixes."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from webapp.blueprints.applications import bp as applications
    from webapp.blueprints.auth import bp as auth
    from webapp.blueprints.branding import bp as branding
    from webapp.blueprints.campaigns import bp as campaigns
    from webapp.blueprints.candidate import bp as candidate
    from webapp.blueprints.documents import bp as documents
    from webapp.blueprints.email_templates import bp as email_templates
    from webapp.blueprints.letters import bp as letters
    from webapp.blueprints.mailbox import bp as mailbox
    from webapp.blueprints.main import bp as main
    from webapp.blueprints.outbox import bp as outbox
    from webapp.blueprints.statuses import bp as statuses
    from webapp.blueprints.users import bp as users

    app.register_blueprint(main)
    app.register_blueprint(auth, url_prefix="/auth")
    app.register_blueprint(candidate)  # /apply/…, /my/…
    app.register_blueprint(campaigns, url_prefix="/campaigns")
    app.register_blueprint(email_templates, url_prefix="/email-templates")
    app.register_blueprint(applications, url_prefix="/applications")
    app.register_blueprint(outbox, url_prefix="/outbox")
    app.register_blueprint(statuses, url_prefix="/statuses")
    app.register_blueprint(users, url_prefix="/users")
    app.register_blueprint(letters, url_prefix="/letter-templates")
    app.register_blueprint(documents)  # /campaigns/<id>/documents, /my/…, /applications/…
    app.register_blueprint(branding, url_prefix="/brand")
    app.register_blueprint(mailbox, url_prefix="/mailbox")  # development mail catcher only
