from flask import Blueprint

bp = Blueprint("applications", __name__)

from webapp.blueprints.applications import views  # noqa: E402, F401
