from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from webapp.blueprints.auth import bp
from webapp.blueprints.auth.forms import LoginForm, SignupForm
from webapp.core.errors import ValidationFailed
from webapp.services import users
from webapp.web.forms import apply_errors
from webapp.web.htmx import form_response


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in."""
    form = LoginForm()
    if form.validate_on_submit():
        user = users.authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user)
            return redirect(_safe_next() or url_for("main.home"))
        form.password.errors.append(_("Unknown email or wrong password."))
    if form.errors:
        return form_response("auth/login.html", "auth/login.html", form)
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out."""
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    """A candidate creates an account."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = SignupForm()
    if form.validate_on_submit():
        try:
            user = users.sign_up_candidate(form.email.data, form.first_name.data,
                                           form.last_name.data, form.password.data,
                                           str(get_locale()))
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            login_user(user)
            flash(_("Welcome, %(name)s! Your account is ready.", name=user.first_name),
                  "success")
            return redirect(_safe_next() or url_for("main.home"))
    if form.errors:
        return form_response("auth/signup.html", "auth/signup.html", form)
    return render_template("auth/signup.html", form=form)


def _safe_next() -> str | None:
    """Only same-site paths: an open redirect would let a link send users elsewhere."""
    target = request.args.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else None
