from flask import Blueprint

bp = Blueprint("branding", __name__, url_prefix="/brand")

from webapp.blueprints.branding import views  # noqa: E402, F401
