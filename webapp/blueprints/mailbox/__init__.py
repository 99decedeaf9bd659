from flask import Blueprint

bp = Blueprint("mailbox", __name__)

from webapp.blueprints.mailbox import views  # noqa: E402, F401
