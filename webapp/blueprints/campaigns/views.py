from flask import render_template

from webapp.blueprints.campaigns import bp
from webapp.models import Role
from webapp.web.access import role_required


@bp.route("/")
@role_required(Role.ADMIN, Role.MANAGER)
def index():
    """List the campaigns."""
    return render_template("campaigns/index.html")
