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
from webapp.services import accounts, delivery, mail_limits, sessions, sign_in
from webapp.web import session_cookie
from webapp.web.forms import apply_errors
from webapp.web.htmx import render_page
from webapp.web.redirects import safe_next, see_other


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in."""
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user, token = sign_in.sign_in(form.email.data, form.password.data,
                                          session_cookie.client_address(),
                                          request.cookies.get(DEVICE_COOKIE))
        except sign_in.SignInBlocked as error:
            apply_errors(form, error)
            status = 429
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            session_cookie.begin(user, token)
            response = see_other(safe_next(request.args.get("next"), url_for("main.home")))
            return _remember_device(response, user)
    if form.errors and status == 200:
        return render_page("auth/login.html", form=form, http_status=422)
    return render_template("auth/login.html", form=form), status


DEVICE_COOKIE = "missive_device"


def _remember_device(response, user):
    """This browser signed in to `user`'s account: strangers' guesses will not hold it back."""
    config = current_app.config
    response.set_cookie(DEVICE_COOKIE, sign_in.device_token(user),
                        max_age=config["SIGN_IN_DEVICE_DAYS"] * 86400, httponly=True,
                        samesite="Lax", secure=bool(config.get("SESSION_COOKIE_SECURE")))
    return response


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out: the server forgets the session, so a copy of the cookie is worthless."""
    sessions.end(session_cookie.end())
    flash(_("You are signed out."), "info")
    return see_other(url_for("auth.login"))


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    """A candidate creates an account; a confirmation link goes to the address."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = SignupForm()
    if form.validate_on_submit():
        try:
            accounts.sign_up_candidate(
                form.email.data, form.first_name.data, form.last_name.data, form.password.data,
                str(get_locale()), session_cookie.client_address())
        except mail_limits.TooManyEmails as error:
            apply_errors(form, error)
            return render_template("auth/signup.html", form=form), 429
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            # The same answer whether or not the address already had an account.
            flash(_("Almost done: we sent a link to %(email)s. Follow it to confirm your "
                    "address, and sign in with your password.", email=form.email.data),
                  "success")
            return see_other(url_for("auth.login", next=request.args.get("next")))
    if form.errors:
        return render_page("auth/signup.html", form=form, http_status=422)
    return render_template("auth/signup.html", form=form)


def _link_problem(message: str, purpose: str):
    return render_template("auth/link_problem.html", message=message, purpose=purpose), 400


@bp.route("/confirm/<token>")
def confirm(token: str):
    """The link of the confirmation email."""
    try:
        accounts.confirm_email(token)
    except accounts.AlreadyConfirmed as done:
        flash(str(done), "info")
        return see_other(url_for("main.home") if current_user.is_authenticated
                         else url_for("auth.login"))
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
        sent = accounts.resend_confirmation(current_user, session_cookie.client_address())
    except ValidationFailed as error:
        flash(str(error), "error")
    else:
        if sent:
            flash(_("We sent a new link to %(email)s.", email=current_user.email), "success")
            if notice := delivery.notice_for(current_user.email):  # it will not arrive
                flash(notice, "error")
        else:
            flash(str(accounts.TOO_MANY_LINKS), "error")
    return see_other(safe_next(request.form.get("next"), url_for("main.home")))


@bp.route("/forgot", methods=["GET", "POST"])
def forgot_password():
    """"Forgot your password?": the same answer whether or not the address has an account."""
    return _ask_for_link("auth/forgot.html", accounts.request_password_reset, lambda email: _(
        "If an account uses %(email)s, a link to choose a new password is on its way. It is "
        "valid for %(minutes)d minutes.", email=email,
        minutes=current_app.config["PASSWORD_RESET_LINK_MINUTES"]))


@bp.route("/link", methods=["GET", "POST"])
def sign_in_link():
    """Ask for a one-time sign-in link: the way in while the password is locked or
    forgotten. The same answer whether or not the address has an account."""
    return _ask_for_link("auth/sign_in_link.html", accounts.request_sign_in_link, lambda email: _(
        "If an account uses %(email)s, a link to sign in is on its way. It is valid for "
        "%(minutes)d minutes.", email=email, minutes=current_app.config["SIGN_IN_LINK_MINUTES"]))


def _ask_for_link(template: str, send, sent):
    """A page that emails a link to the address typed (`send(address, client address)`), then
    goes back to sign-in saying `sent(address)`, and that it will not arrive when the address
    is suppressed; 429 when the address was sent too many already."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        try:
            send(form.email.data, session_cookie.client_address())
        except mail_limits.TooManyEmails as error:
            apply_errors(form, error)
            return render_template(template, form=form), 429
        flash(sent(form.email.data), "info")
        if notice := delivery.notice_for(form.email.data):  # it will not arrive
            flash(notice, "error")
        return see_other(url_for("auth.login"))
    if form.errors:
        return render_page(template, form=form, http_status=422)
    return render_template(template, form=form)


@bp.route("/link/<token>", methods=["GET", "POST"])
def follow_sign_in_link(token: str):
    """The link of the sign-in email. A GET only shows a button (mail scanners follow links
    and must not use it up); the POST signs in."""
    try:
        user = accounts.user_for_token(token, accounts.SIGN_IN)
    except accounts.LinkProblem as problem:
        return _link_problem(str(problem), accounts.SIGN_IN)
    if request.method == "POST":
        try:
            user, session_token = accounts.sign_in_with_link(token,
                                                             session_cookie.client_address())
        except accounts.LinkProblem as problem:
            return _link_problem(str(problem), accounts.SIGN_IN)
        session_cookie.begin(user, session_token)
        return _remember_device(see_other(url_for("main.home")), user)
    return render_template("auth/follow_link.html", account=user)


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
            return _password_set(user, token)
    if form.errors:
        return render_page("auth/change_password.html", form=form, http_status=422)
    return render_template("auth/change_password.html", form=form)


def _password_set(user, session_token: str):
    """A new password is set (changed, or chosen from a link): this browser holds the
    account's one session now, and goes home."""
    session_cookie.begin(user, session_token)
    flash(_("Your new password is set. Any other session of your account was signed out."),
          "success")
    return see_other(url_for("main.home"))


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
            return _password_set(user, session_token)
    context = {"form": form, "purpose": purpose, "account": user}
    if form.errors:
        return render_page("auth/new_password.html", **context, http_status=422)
    return render_template("auth/new_password.html", **context)


@bp.after_request
def _no_referrer(response):
    """Pages reached through an emailed link carry its token in their URL: never send it on."""
    if request.endpoint in ("auth.confirm", "auth.reset_password", "auth.invitation",
                            "auth.follow_sign_in_link"):
        response.headers["Referrer-Policy"] = "no-referrer"
    return response
