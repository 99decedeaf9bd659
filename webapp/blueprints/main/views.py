from pathlib import Path

from flask import Response, current_app, redirect, request, session, url_for
from flask_login import current_user

from webapp.blueprints.main import bp
from webapp.models import Role
from webapp.services import users
from webapp.web.redirects import safe_next, see_other


@bp.route("/")
def home():
    """Send each person to where their work is."""
    if not current_user.is_authenticated:
        return redirect(url_for("candidate.open_campaigns"))
    if current_user.has_role(Role.ADMIN, Role.MANAGER):
        return redirect(url_for("campaigns.index"))
    if current_user.has_role(Role.EVALUATOR):
        return redirect(url_for("applications.index"))
    return redirect(url_for("candidate.my_applications"))


@bp.route("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page links to. The bytes, not a file
    stream: 201 bytes need no open file left to the server to close."""
    icon = Path(current_app.static_folder, "favicon.ico").read_bytes()
    return Response(icon, mimetype="image/vnd.microsoft.icon",
                    headers={"Cache-Control": "public, max-age=86400"})


@bp.route("/language", methods=["POST"])
def set_language():
    """Switch the interface language (remembered on the account when signed in)."""
    locale = request.form.get("locale", "")
    if locale in current_app.config["LANGUAGES"]:
        session["locale"] = locale
        if current_user.is_authenticated:
            users.set_locale(current_user, locale)
    return see_other(safe_next(request.form.get("next")))
