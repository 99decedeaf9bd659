from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from webapp.blueprints.candidate import bp
from webapp.blueprints.candidate.forms import AddressForm, ApplicationForm, ConfirmForm
from webapp.core.errors import NotFound, ValidationFailed
from webapp.extensions import db
from webapp.models import Application, Role
from webapp.services import applications, delivery
from webapp.web.access import role_required
from webapp.web.forms import apply_errors
from webapp.web.htmx import render_page
from webapp.web.redirects import see_other

# /apply/                          open campaigns
# /apply/<campaign>/start          start (or resume) my application
# /my/applications                 my applications
# /my/address                      correct my address after mail to it bounced (POST)
# /my/applications/<id>            my application: the form while a draft, read-only after
# /my/applications/<id>/submit     the confirmed submission (POST)
# /my/applications/<id>/receipt    the receipt: reference and printable summary


@bp.route("/apply/")
def open_campaigns():
    """The public list of campaigns accepting applications."""
    mine = {}
    if current_user.is_authenticated:
        mine = {a.campaign_id: a for a in applications.my_applications(current_user)}
    return render_template("candidate/open_campaigns.html",
                           campaigns=applications.open_campaigns(), mine=mine)


@bp.route("/apply/<int:campaign_id>/start", methods=["POST"])
@role_required(Role.CANDIDATE)
def start(campaign_id: int):
    """Start an application, or go back to the one already started."""
    try:
        application = applications.start_application(current_user, campaign_id)
    except ValidationFailed as error:
        flash(str(error), "error")
        return see_other(url_for("candidate.open_campaigns"))
    return see_other(url_for("candidate.application", application_id=application.id))


@bp.route("/my/applications")
@login_required
def my_applications():
    """The signed-in person's applications."""
    return render_template("candidate/my_applications.html",
                           applications=applications.my_applications(current_user),
                           unreachable=delivery.unreachable(current_user),
                           address_form=AddressForm())


@bp.route("/my/address", methods=["POST"])
@login_required
def correct_address():
    """Mail to my address bounced: give the right one; what was held back goes to it."""
    form = AddressForm()
    if form.validate():
        try:
            queued = delivery.correct_address(current_user, form.email.data)
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            flash(ngettext("Your address is now %(email)s; %(num)d email held back goes to it.",
                           "Your address is now %(email)s; %(num)d emails held back go to it.",
                           queued, email=current_user.email), "success")
            return see_other(url_for("candidate.my_applications"))
    return render_template("candidate/my_applications.html",
                           applications=applications.my_applications(current_user),
                           unreachable=delivery.unreachable(current_user),
                           address_form=form), 422


@bp.route("/my/applications/<int:application_id>", methods=["GET", "POST"])
@login_required
def application(application_id: int):
    """My application: save the draft or submit it; read-only once submitted."""
    try:
        own = applications.own_application(current_user, application_id)
    except NotFound:
        # The link in emails points here; staff are sent to their own view of the application.
        if current_user.is_staff and db.session.get(Application, application_id) is not None:
            return redirect(url_for("applications.detail", application_id=application_id))
        abort(404)
    form = ApplicationForm(obj=own)
    if request.method == "POST" and form.validate_on_submit():
        submitting = request.form.get("action") == "submit"
        try:
            # Submitting cannot be undone: save (its own unit of work: the answers are kept
            # whatever the check says), check, then ask for confirmation.
            applications.save_draft(current_user, own.id, form.answers())
            if submitting:
                applications.check_submission(current_user, own.id, form.answers())
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            if submitting:
                return render_page("candidate/confirm_submit.html",
                                   "candidate/_confirm_submit.html", application=own)
            flash(_("Draft saved."), "success")
            return see_other(url_for("candidate.application", application_id=own.id))
    if form.errors or form.form_errors:
        return render_page("candidate/application.html", "candidate/_application_form.html",
                           form=form, application=own, http_status=422)
    return render_template("candidate/application.html", form=form, application=own)


@bp.route("/my/applications/<int:application_id>/submit", methods=["POST"])
@login_required
def submit(application_id: int):
    """The confirmed submission (the answers were saved when confirmation was asked)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        own = applications.submit_draft(current_user, application_id)
    except ValidationFailed as error:
        flash(str(error), "error")
        target = url_for("candidate.application", application_id=application_id)
    else:
        flash(_("Your application was submitted."), "success")
        target = url_for("candidate.receipt", application_id=own.id)
    return see_other(target)


@bp.route("/my/applications/<int:application_id>/receipt")
@login_required
def receipt(application_id: int):
    """The receipt after submitting: the reference and a printable summary."""
    own = applications.own_application(current_user, application_id)
    if own.submitted_at is None:
        return redirect(url_for("candidate.application", application_id=own.id))
    return render_template("candidate/receipt.html", application=own,
                           acknowledged=applications.acknowledgement_queued(own))
