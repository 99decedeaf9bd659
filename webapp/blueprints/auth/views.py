"""Sign in and out, sign up, confirm an address, forgotten passwords and invitations."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from webapp.blueprints.auth import bp
from webapp.blueprints.auth.forms import (
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    NewPasswordForm,
    SignupForm,
)
from webapp.core.errors import ValidationFailed
from webapp.services import accounts, delivery, sessions, sign_in
from webapp.web import session_cookie
from webapp.web.forms import apply_errors
from webapp.web.htmx import form_response, render_page
from webapp.web.redirects import safe_next


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in."""
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user, token = sign_in.sign_in(form.email.data, form.password.data,
                                          session_cookie.client_address())
        except sign_in.SignInBlocked as error:
            apply_errors(form, error)
            status = 429
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            session_cookie.begin(user, token)
            return redirect(safe_next(request.args.get("next"), url_for("main.home")))
    if form.errors and status == 200:
        return form_response("auth/login.html", "auth/login.html", form)
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out: the server forgets the session, so a copy of the cookie is worthless."""
    sessions.end(session_cookie.end())
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    """A candidate creates an account; a confirmation link goes to the address."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = SignupForm()
    if form.validate_on_submit():
        try:
            user, token = accounts.sign_up_candidate(
                form.email.data, form.first_name.data, form.last_name.data, form.password.data,
                str(get_locale()), session_cookie.client_address())
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            session_cookie.begin(user, token)
            flash(_("Welcome, %(name)s! We sent a link to %(email)s: follow it to confirm your "
                    "address. Until then you can prepare your application, not submit it.",
                    name=user.first_name, email=user.email), "success")
            return redirect(safe_next(request.args.get("next"), url_for("main.home")))
    if form.errors:
        return form_response("auth/signup.html", "auth/signup.html", form)
    return render_template("auth/signup.html", form=form)


def _link_problem(message: str, purpose: str):
    return render_template("auth/link_problem.html", message=message, purpose=purpose), 400


@bp.route("/confirm/<token>")
def confirm(token: str):
    """The link of the confirmation email."""
    try:
        accounts.confirm_email(token)
    except accounts.LinkProblem as problem:
        return _link_problem(str(problem), accounts.CONFIRM)
    flash(_("Your email address is confirmed."), "success")
    return redirect(url_for("main.home") if current_user.is_authenticated
                    else url_for("auth.login"))


@bp.route("/confirm/resend", methods=["POST"])
@login_required
def resend_confirmation():
    """"Send the link again" (rate-limited by the service)."""
    try:
        accounts.resend_confirmation(current_user)
    except ValidationFailed as error:
        flash(str(error), "error")
    else:
        flash(_("We sent a new link to %(email)s.", email=current_user.email), "success")
        if notice := delivery.notice_for(current_user.email):  # it will not arrive
            flash(notice, "error")
    return redirect(safe_next(request.form.get("next"), url_for("main.home")), 303)


@bp.route("/forgot", methods=["GET", "POST"])
def forgot_password():
    """"Forgot your password?": the same answer whether or not the address has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data)
        flash(_("If an account uses %(email)s, a link to choose a new password is on its way. "
                "It is valid for %(minutes)d minutes.", email=form.email.data,
                minutes=current_app.config["PASSWORD_RESET_LINK_MINUTES"]), "info")
        if notice := delivery.notice_for(form.email.data):  # it will not arrive
            flash(notice, "error")
        return redirect(url_for("auth.login"), 303)
    if form.errors:
        return form_response("auth/forgot.html", "auth/forgot.html", form)
    return render_template("auth/forgot.html", form=form)


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change my password; my other sessions end."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            user, token = accounts.change_password(current_user, form.current.data,
                                                   form.password.data,
                                                   session_cookie.client_address())
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            session_cookie.begin(user, token)
            flash(_("Your new password is set. Any other session of your account was signed "
                    "out."), "success")
            return redirect(url_for("main.home"), 303)
    if form.errors:
        return form_response("auth/change_password.html", "auth/change_password.html", form)
    return render_template("auth/change_password.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """The link of the password reset email."""
    return _new_password(token, accounts.RESET)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def invitation(token: str):
    """The link of the invitation email: the new account's owner chooses a password."""
    return _new_password(token, accounts.INVITE)


def _new_password(token: str, purpose: str):
    try:
        user = accounts.user_for_token(token, purpose)
    except accounts.LinkProblem as problem:
        return _link_problem(str(problem), purpose)
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            user, session_token = accounts.set_password_from_link(
                token, purpose, form.password.data, session_cookie.client_address())
        except accounts.LinkProblem as problem:
            return _link_problem(str(problem), purpose)
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            session_cookie.begin(user, session_token)
            flash(_("Your new password is set. Any other session of your account was signed "
                    "out."), "success")
            return redirect(url_for("main.home"), 303)
    context = {"form": form, "purpose": purpose, "account": user}
    if form.errors:
        return render_page("auth/new_password.html", **context), 422
    return render_template("auth/new_password.html", **context)


@bp.after_request
def _no_referrer(response):
    """Pages reached through an emailed link carry its token in their URL: never send it on."""
    if request.endpoint in ("auth.confirm", "auth.reset_password", "auth.invitation"):
        response.headers["Referrer-Policy"] = "no-referrer"
    return response
