from flask import Blueprint

bp = Blueprint("email_templates", __name__)

from webapp.blueprints.email_templates import views  # noqa: E402, F401
