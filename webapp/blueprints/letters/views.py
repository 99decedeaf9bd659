"""Letter templates: letters rendered to PDF, attached to automatic emails.

Routes:
    /                       list
    /new                    create
    /<id>/edit              edit
    /<id>/delete            delete (POST)
    /preview.pdf            the form's letter with example values (POST)
    /<id>/sample.pdf        a saved letter as an email's preview shows it (?locale, ?application)
    /attachments            what each email template attaches
    /attachments/<tid>      change one email template's attachments (POST)
"""

import io

from flask import (
    Response,
    abort,
    flash,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from webapp.blueprints.letters import bp
from webapp.blueprints.letters.forms import AttachmentsForm, DeleteForm, LetterForm
from webapp.core.errors import NotAllowed, NotFound, ValidationFailed
from webapp.models import Role
from webapp.services import documents, letters, templating
from webapp.web.access import role_required
from webapp.web.forms import apply_errors
from webapp.web.redirects import see_other

platform_managers = role_required(Role.ADMIN, Role.MANAGER)


@bp.route("/")
@platform_managers
def index():
    return render_template("letters/index.html", letters=letters.all_letters())


def _editor(form: LetterForm, letter=None, status: int = 200):
    return render_template("letters/edit.html", form=form, letter=letter,
                           help_items=templating.help_items()), status


@bp.route("/new", methods=["GET", "POST"])
@platform_managers
def new():
    form = LetterForm()
    if form.validate_on_submit():
        try:
            letter = letters.save_letter(current_user, None, form.values())
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            flash(_("Letter template created."), "success")
            return see_other(url_for(".edit", letter_id=letter.id))
    return _editor(form, status=422 if form.errors or form.form_errors else 200)


@bp.route("/<int:letter_id>/edit", methods=["GET", "POST"])
@platform_managers
def edit(letter_id: int):
    try:
        letter = letters.get_letter(letter_id)
    except NotFound:
        abort(404)
    form = LetterForm(obj=letter)
    if form.validate_on_submit():
        try:
            letters.save_letter(current_user, letter, form.values())
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            flash(_("Letter template saved."), "success")
            return see_other(url_for(".edit", letter_id=letter.id))
    return _editor(form, letter, status=422 if form.errors or form.form_errors else 200)


@bp.route("/<int:letter_id>/delete", methods=["POST"])
@platform_managers
def delete(letter_id: int):
    try:
        letter = letters.get_letter(letter_id)
    except NotFound:
        abort(404)
    if not DeleteForm().validate_on_submit():
        abort(400)
    try:
        letters.delete_letter(current_user, letter)
    except ValidationFailed as error:
        flash(str(error), "error")
        return see_other(url_for(".edit", letter_id=letter.id))
    flash(_("Letter template deleted."), "success")
    return see_other(url_for(".index"))


@bp.route("/preview.pdf", methods=["POST"])
@platform_managers
def preview():
    """The letter being edited, with example values, as a PDF to open."""
    form = LetterForm()
    if not form.validate_on_submit():
        return _editor(form, status=422)
    try:
        pdf = letters.preview_pdf(form.values(), form.preview_locale.data)
    except ValidationFailed as error:
        apply_errors(form, error)
        return _editor(form, status=422)
    except templating.TemplateProblem as error:
        form.form_errors.append(str(error))
        return _editor(form, status=422)
    return _inline_pdf(pdf, "preview.pdf")


def _inline_pdf(pdf: bytes, filename: str) -> Response:
    """A PDF to open in the browser, never stored by it."""
    response = send_file(io.BytesIO(pdf), mimetype="application/pdf", as_attachment=False,
                         download_name=filename, max_age=0, conditional=False, etag=False)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/<int:letter_id>/sample.pdf")
@platform_managers
def sample(letter_id: int):
    """A saved letter as an email's preview shows it: made for the application chosen in the
    preview (one the signed-in person may read), else with example values. Nothing stored."""
    try:
        letter = letters.get_letter(letter_id)
        application_id = request.args.get("application", type=int)
        application = (documents.readable_application(current_user, application_id)
                       if application_id else None)
    except NotFound:
        abort(404)
    except NotAllowed:
        abort(403)
    locale = request.args.get("locale", "")
    if locale not in ("fr", "en"):
        locale = letter.default_locale
    try:
        filename, pdf = letters.sample_pdf(letter, locale, application)
    except templating.TemplateProblem as error:
        return render_template("letters/sample_problem.html", letter=letter,
                               problem=str(error)), 422
    return _inline_pdf(pdf, filename)


def _attachment_forms(submitted=None):
    all_letters = letters.all_letters()
    forms = []
    for choice in letters.attachment_overview():
        prefix = f"template-{choice.template.id}"
        if submitted is not None and submitted[0] == choice.template.id:
            form = submitted[1]
        else:
            form = AttachmentsForm(formdata=None, letters=sorted(choice.letter_ids),
                                   kinds=sorted(choice.kinds))
        forms.append((choice.template, form.set_choices(all_letters, prefix)))
    return forms


@bp.route("/attachments")
@platform_managers
def attachments():
    """What each email template attaches: letters, and the candidate's documents."""
    return render_template("letters/attachments.html", forms=_attachment_forms())


@bp.route("/attachments/<int:template_id>", methods=["POST"])
@platform_managers
def set_attachments(template_id: int):
    try:
        template = letters.campaign_template(template_id)
    except NotFound:
        abort(404)
    form = AttachmentsForm().set_choices(letters.all_letters(), f"template-{template_id}")
    if form.validate_on_submit():
        try:
            letters.set_attachments(current_user, template, form.letters.data or [],
                                    form.kinds.data or [])
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            flash(_("Attachments of “%(name)s” saved.", name=template.name), "success")
            return see_other(url_for(".attachments") + f"#template-{template_id}")
    return render_template("letters/attachments.html",
                           forms=_attachment_forms((template_id, form))), 422
