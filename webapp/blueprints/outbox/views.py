from flask import render_template

from webapp.blueprints.outbox import bp
from webapp.models import Role
from webapp.web.access import role_required


@bp.route("/")
@role_required(Role.ADMIN)
def index():
    """Watch the outbox."""
    return render_template("outbox/index.html")
