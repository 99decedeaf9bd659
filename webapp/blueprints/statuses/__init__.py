from flask import Blueprint

bp = Blueprint("statuses", __name__)

from webapp.blueprints.statuses import views  # noqa: E402, F401
