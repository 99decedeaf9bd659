"""The administrators' Users screen.

Routes:
    GET       /users/                       list and search (the results alone for htmx)
    GET, POST /users/invite                 invite someone: the account, and an emailed link
    GET, POST /users/<id>                   one account: its roles (POST saves them)
    POST      /users/<id>/deactivate        it can no longer sign in; its sessions end
    POST      /users/<id>/reactivate        it may sign in again
"""

from flask import abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from webapp.blueprints.users import bp
from webapp.blueprints.users.forms import InviteForm, RolesForm
from webapp.core.errors import ValidationFailed
from webapp.models import Role
from webapp.services import user_admin
from webapp.services.labels import ACCOUNT_ACTIONS, ROLE_HELP, ROLES
from webapp.web.access import role_required
from webapp.web.forms import apply_errors
from webapp.web.htmx import render_page
from webapp.web.redirects import see_other


@bp.context_processor
def _words():
    return {"role_help": ROLE_HELP, "account_actions": ACCOUNT_ACTIONS}


@bp.route("/")
@role_required(Role.ADMIN)
def index():
    """Every account, searched by name or address, filtered by role."""
    text = request.args.get("q", "")[:user_admin.MAX_SEARCH]
    role = request.args.get("role", "")
    listing = user_admin.search(text, role, request.args.get("page"))
    return render_page("users/index.html", "users/_results.html", listing=listing, q=text,
                       role=role, roles=ROLES)


@bp.route("/invite", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def invite():
    """Create an account and email its owner a link to choose a password."""
    form = InviteForm()
    if form.validate_on_submit():
        try:
            user = user_admin.invite(current_user, form.email.data, form.first_name.data,
                                     form.last_name.data, form.roles.data, form.locale.data)
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            flash(_("Invitation sent to %(email)s.", email=user.email), "success")
            return see_other(url_for("users.edit", user_id=user.id))
    if form.errors or form.form_errors:
        return render_page("users/invite.html", form=form, http_status=422)
    return render_template("users/invite.html", form=form)


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def edit(user_id: int):
    """One account: who it is, its roles, its state, its history."""
    user = user_admin.get(user_id)
    form = RolesForm(data={"roles": sorted(r.value for r in user.roles)})
    if request.method == "POST":
        form = RolesForm()
        if form.validate_on_submit():
            try:
                user_admin.set_roles(current_user, user, form.roles.data)
            except ValidationFailed as error:
                apply_errors(form, error)
            else:
                flash(_("Roles saved."), "success")
                return see_other(url_for("users.edit", user_id=user.id))
        if not form.errors and not form.form_errors:
            form.form_errors.append(_("The form has expired: reload the page and try again."))
        return render_page("users/edit.html", form=form, user=user,
                           history=user_admin.history(user), roles=ROLES, http_status=422)
    return render_template("users/edit.html", form=form, user=user,
                           history=user_admin.history(user), roles=ROLES)


@bp.route("/<int:user_id>/<any(deactivate, reactivate):action>", methods=["POST"])
@role_required(Role.ADMIN)
def set_active(user_id: int, action: str):
    """Deactivate (its sessions end) or reactivate an account."""
    user = user_admin.get(user_id)
    form = RolesForm()  # only its CSRF token is used
    if not form.validate_on_submit() and "csrf_token" in form.errors:
        abort(400)
    try:
        if action == "deactivate":
            ended = user_admin.deactivate(current_user, user)
            flash(ngettext("Account deactivated; %(num)d session ended.",
                           "Account deactivated; %(num)d sessions ended.", ended), "success")
        else:
            user_admin.reactivate(current_user, user)
            flash(_("Account reactivated: it may sign in again."), "success")
    except ValidationFailed as error:
        for messages in error.errors.values():
            for message in messages:
                flash(message, "error")
    return see_other(url_for("users.edit", user_id=user.id))
