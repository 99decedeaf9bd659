"""The platform's application statuses.

Routes:
    /                   list, and a form to add one
    /<id>               rename, recolour, move
    /<id>/delete        delete (refused for draft, submitted and statuses in use)
"""

from flask import flash, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.blueprints.statuses import bp
from webapp.blueprints.statuses.forms import StatusForm
from webapp.core.errors import ValidationFailed
from webapp.models import Status
from webapp.services import statuses
from webapp.web.access import PLATFORM_MANAGERS, role_required
from webapp.web.forms import apply_errors
from webapp.web.htmx import render_page
from webapp.web.redirects import see_other


@bp.route("/", methods=["GET", "POST"])
@role_required(*PLATFORM_MANAGERS)
def index():
    """List the statuses; add one."""
    form = StatusForm()
    if form.validate_on_submit() and _save(form, None):
        flash(_("Status saved."), "success")
        return see_other(url_for("statuses.index"))
    if form.errors:
        return render_page("statuses/index.html", form=form, statuses=statuses.all_statuses(),
                           http_status=422)
    return render_template("statuses/index.html", form=form, statuses=statuses.all_statuses())


@bp.route("/<int:status_id>", methods=["GET", "POST"])
@role_required(*PLATFORM_MANAGERS)
def edit(status_id: int):
    """Rename, recolour or move a status."""
    status = statuses.get(status_id)
    form = StatusForm(obj=status)
    if form.validate_on_submit() and _save(form, status):
        flash(_("Status saved."), "success")
        return see_other(url_for("statuses.index"))
    if form.errors:
        return render_page("statuses/edit.html", form=form, http_status=422, status=status)
    return render_template("statuses/edit.html", form=form, status=status)


@bp.route("/<int:status_id>/delete", methods=["POST"])
@role_required(*PLATFORM_MANAGERS)
def delete(status_id: int):
    """Delete a status nobody uses."""
    status = statuses.get(status_id)
    try:
        statuses.delete_status(current_user, status)
    except ValidationFailed as error:
        flash(str(error), "error")
    else:
        flash(_("Status deleted."), "success")
    return see_other(url_for("statuses.index"))


def _save(form: StatusForm, status: Status | None) -> bool:
    try:
        statuses.save_status(current_user, status, form.label_en.data, form.label_fr.data,
                             form.colour.data, form.position.data)
    except ValidationFailed as error:
        apply_errors(form, error, default_field="label_en")
        return False
    return True
