from flask import Blueprint

bp = Blueprint("main", __name__)

from webapp.blueprints.main import unsubscribe, views  # noqa: E402, F401
