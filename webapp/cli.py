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
    @click.password_option()
    def create_user_command(email, roles, first_name, last_name, locale, password):
        """Create a user with one or more roles."""
        from webapp.services.users import create_user

        try:
            user = create_user(email, first_name or email.split("@")[0], last_name, password,
                               [Role(r) for r in roles], locale)
        except ValidationFailed as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from None
        db.session.commit()
        click.echo(f"Created {user.email} ({', '.join(sorted(roles))}).")

    @app.cli.command("seed-demo")
    def seed_demo_command():
        """Create the demo platform (idempotent) and print the demo sign-ins."""
        from webapp.services.demo import seed_demo

        sign_ins = seed_demo()
        click.echo("Demo sign-ins (email / password):")
        for email, role, password in sign_ins:
            click.echo(f"  {role:<10} {email:<32} {password}")
