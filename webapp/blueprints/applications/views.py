from flask import render_template

from webapp.blueprints.applications import bp
from webapp.models import Role
from webapp.web.access import role_required


@bp.route("/")
@role_required(Role.ADMIN, Role.MANAGER, Role.EVALUATOR)
def index():
    """List the applications."""
    return render_template("applications/index.html")
