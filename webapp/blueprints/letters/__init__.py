from flask import Blueprint

bp = Blueprint("letters", __name__)

from webapp.blueprints.letters import views  # noqa: E402, F401
