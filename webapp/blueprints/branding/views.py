"""The look of every email, set by an administrator.

Routes:
    GET, POST /brand/                  the platform's name, logo and postal address in emails
    GET       /brand/logo/<digest>     the logo (public: emails show it from here)
"""

from flask import Response, abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.blueprints.branding import bp
from webapp.blueprints.branding.forms import BrandingForm
from webapp.core.errors import ValidationFailed
from webapp.models import Role
from webapp.services import branding
from webapp.web.access import role_required
from webapp.web.forms import apply_errors
from webapp.web.redirects import see_other

admins = role_required(Role.ADMIN)


@bp.route("/", methods=["GET", "POST"])
@admins
def settings():
    brand = branding.current()
    form = BrandingForm(data={"platform_name": brand.name, "postal_address": brand.address})
    status = 200
    if form.validate_on_submit():
        upload = request.files.get("logo")
        try:
            branding.save(current_user, form.platform_name.data, form.postal_address.data,
                          upload.read(branding.LOGO_MAX_BYTES + 1) if upload else None,
                          bool(form.remove_logo.data))
        except ValidationFailed as error:
            apply_errors(form, error)
            status = 422
        else:
            flash(_("The emails' look is saved."), "success")
            return see_other(url_for(".settings"))
    elif form.is_submitted():
        status = 422
    return render_template("branding/settings.html", form=form, brand=brand), status


@bp.route("/logo/<digest>")
def logo(digest: str):
    found = branding.logo(digest)
    if found is None:
        abort(404)
    data, kind = found
    return Response(data, mimetype=kind, headers={
        "Cache-Control": "public, max-age=31536000, immutable",
        "X-Content-Type-Options": "nosniff"})
