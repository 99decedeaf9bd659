from flask import Blueprint

bp = Blueprint("campaigns", __name__)

from webapp.blueprints.campaigns import views  # noqa: E402, F401
