from flask import Blueprint

bp = Blueprint("candidate", __name__)

from webapp.blueprints.candidate import views  # noqa: E402, F401
