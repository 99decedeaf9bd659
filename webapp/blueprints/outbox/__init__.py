from flask import Blueprint

bp = Blueprint("outbox", __name__)

from webapp.blueprints.outbox import views  # noqa: E402, F401
