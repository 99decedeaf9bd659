"""Commands of the web application: `flask --app wsgi create-user`, `seed-demo`."""

import click
from flask import Flask

from webapp.core.errors import ValidationFailed
from webapp.extensions import db
from webapp.models import Role


def register(app: Flask) -> None:
    @app.cli.command("create-user")
    @click.argument("email")
    @click.option("--role", "roles", multiple=True, required=True,
                  type=click.Choice([r.value for r in Role]))
    @click.option("--first-name", default="")
    @click.option("--last-name", default="")
    @click.option("--locale", type=click.Choice(["fr", "en"]), default=None)
    @click.option("--password", default=None,
                  help="Set the password now (the address counts as confirmed). Without it, "
                       "an invitation link is emailed so that its owner chooses one.")
    def create_user_command(email, roles, first_name, last_name, locale, password):
        """Create a user with one or more roles."""
        from webapp.services.accounts import create_with_invitation
        from webapp.services.users import create_user

        first_name = first_name or email.split("@")[0]
        try:
            if password is None:
                user = create_with_invitation(email, first_name, last_name,
                                              [Role(r) for r in roles], locale)
            else:
                user = create_user(email, first_name, last_name, password,
                                   [Role(r) for r in roles], locale, confirmed=True)
                db.session.commit()
        except ValidationFailed as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from None
        click.echo(f"Created {user.email} ({', '.join(sorted(roles))}).")
        if password is None:
            click.echo("An invitation to choose a password is queued in the outbox.")

    @app.cli.command("deactivate-user")
    @click.argument("email")
    def deactivate_user_command(email):
        """Stop an account from signing in and end its open sessions."""
        from webapp.services.accounts import deactivate
        from webapp.services.users import find_by_email

        user = find_by_email(email)
        if user is None:
            raise click.ClickException(f"No account uses {email}.")
        deactivate(None, user)
        click.echo(f"Deactivated {user.email}; its sessions are ended.")

    @app.cli.command("seed-demo")
    def seed_demo_command():
        """Create the demo platform (idempotent) and print the demo sign-ins."""
        from webapp.services.demo import seed_demo

        sign_ins = seed_demo()
        click.echo("Demo sign-ins (email / password):")
        for email, role, password in sign_ins:
            click.echo(f"  {role:<10} {email:<32} {password}")
