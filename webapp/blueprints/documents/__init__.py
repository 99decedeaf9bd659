from flask import Blueprint

bp = Blueprint("documents", __name__)

from webapp.blueprints.documents import views  # noqa: E402, F401
