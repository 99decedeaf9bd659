from flask import render_template

from webapp.blueprints.email_templates import bp
from webapp.models import Role
from webapp.web.access import role_required


@bp.route("/")
@role_required(Role.ADMIN, Role.MANAGER)
def index():
    """List the email templates."""
    return render_template("email_templates/index.html")
