"""Documents: what a campaign asks for (its editor's "Documents" tab), the candidate's
uploads, and the permission-checked downloads.

Routes:
    /campaigns/<id>/documents                       the tab: list and add
    /campaigns/<id>/documents/<rid>/edit            change one requested document
    /campaigns/<id>/documents/<rid>/delete          delete it (refused once answered)
    /my/applications/<id>/documents/<rid>           upload (or replace) a file (POST)
    /my/applications/<id>/documents/<rid>/remove    take it back while a draft (POST)
    /applications/<id>/documents/<did>              download one file
    /applications/<id>/documents.zip                all of an application's files
    /emails/<mid>/attachments/<n>                   a file an email carried
    /files/<token>                                  a file behind an email's signed link
"""

from flask import (
    Response,
    abort,
    current_app,
    flash,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from webapp.blueprints.documents import bp
from webapp.blueprints.documents.forms import ActionForm, RequestedDocumentForm, UploadForm
from webapp.core.errors import NotAllowed, NotFound, ValidationFailed
from webapp.core.storage import StorageError
from webapp.models import Role
from webapp.services import campaigns, documents, letters
from webapp.web.access import role_required
from webapp.web.forms import apply_errors
from webapp.web.htmx import render_page
from webapp.web.redirects import see_other

platform_managers = role_required(Role.ADMIN, Role.MANAGER)
MB = 1024 * 1024
FORM_OVERHEAD = 64 * 1024  # the multipart envelope and the CSRF token around the file


@bp.app_context_processor
def document_helpers():
    return {"document_slots": documents.slots, "document_kinds_label": documents.kinds_label,
            "document_accept": documents.accepted_extensions,
            "staff_documents": _staff_documents,
            "message_attachments": documents.message_attachments,
            "letters_received": documents.letters_received,
            "template_attachments": _template_attachments}


@bp.app_template_filter("filesize")
def filesize(size: int) -> str:
    """A file's size for people: 820 KB, 1.4 MB (in the reader's language)."""
    if size < MB:
        return _("%(n)s KB", n=format_decimal(max(1, round(size / 1024))))
    return _("%(n)s MB", n=format_decimal(round(size / MB, 1)))


def _template_attachments(template_id, locale=None,
                          application_id=None) -> list[tuple[str, str | None]]:
    """What an email template's emails carry, in words, for its previews; each letter with a
    link to open it as the preview's language and application (if any) would have it."""
    try:
        template_id = int(template_id)
    except (TypeError, ValueError):
        return []
    locale = locale if locale in ("fr", "en") else _locale()
    described = []
    for rule in letters.attachment_rules(template_id):
        if rule.letter is not None:
            url = url_for("letters.sample", letter_id=rule.letter.id, locale=locale,
                          application=application_id or None)
            described.append((_("The letter “%(name)s” (PDF, made for each application)",
                                name=rule.letter.name), url))
        elif rule.document_kind in documents.KINDS:
            described.append((_("The candidate's documents of type %(kind)s",
                                kind=documents.KINDS[rule.document_kind][0]), None))
    return described


def _staff_documents(application):
    """The application's files if the signed-in person may read them, else None."""
    try:
        documents.readable_application(current_user, application.id)
    except (NotFound, NotAllowed):
        return None
    return documents.documents_of(application)


def _locale() -> str:
    return str(get_locale() or "fr")


# The campaign editor's "Documents" tab -----------------------------------------------------


def _campaign_or_404(campaign_id: int):
    campaign = campaigns.get_campaign(campaign_id)
    if campaign is None:
        abort(404)
    return campaign


def _tab(campaign, form=None, editing=None, status: int = 200):
    return render_page("documents/campaign.html", "documents/_tab.html", campaign=campaign,
                       tab="documents", requested=documents.requested_documents(campaign),
                       form=form or RequestedDocumentForm(formdata=None), editing=editing,
                       locale=_locale()), status


@bp.route("/campaigns/<int:campaign_id>/documents", methods=["GET", "POST"])
@platform_managers
def campaign_documents(campaign_id: int):
    """The documents the call asks for, and the form to ask for one more."""
    campaign = _campaign_or_404(campaign_id)
    form = RequestedDocumentForm()
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                documents.add_requested(current_user, campaign, form.values())
            except ValidationFailed as error:
                apply_errors(form, error)
            else:
                flash(_("Document added."), "success")
                return see_other(url_for(".campaign_documents", campaign_id=campaign.id))
        return _tab(campaign, form, status=422)
    return _tab(campaign)


@bp.route("/campaigns/<int:campaign_id>/documents/<int:requested_id>/edit",
          methods=["GET", "POST"])
@platform_managers
def edit_requested(campaign_id: int, requested_id: int):
    campaign = _campaign_or_404(campaign_id)
    try:
        requested = documents.requested_document(campaign, requested_id)
    except NotFound:
        abort(404)
    form = RequestedDocumentForm(obj=requested if request.method == "GET" else None)
    if request.method == "GET":
        form.kinds.data = requested.kind_list
    elif form.validate_on_submit():
        try:
            documents.update_requested(current_user, requested, form.values())
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            flash(_("Document saved."), "success")
            return see_other(url_for(".campaign_documents", campaign_id=campaign.id))
    return render_template("documents/edit.html", campaign=campaign, requested=requested,
                           form=form, tab="documents"), (422 if form.errors else 200)


@bp.route("/campaigns/<int:campaign_id>/documents/<int:requested_id>/delete", methods=["POST"])
@platform_managers
def delete_requested(campaign_id: int, requested_id: int):
    campaign = _campaign_or_404(campaign_id)
    try:
        requested = documents.requested_document(campaign, requested_id)
    except NotFound:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        documents.delete_requested(current_user, requested)
    except ValidationFailed as error:
        flash(str(error), "error")
    else:
        flash(_("Document deleted."), "success")
    return see_other(url_for(".campaign_documents", campaign_id=campaign.id))


# The candidate's uploads -------------------------------------------------------------------


def _slot_response(application_id: int, requested_id: int, error: str | None,
                   status: int = 200, done: str = ""):
    """htmx: the document's row again, its error or "saved" in it; otherwise the application
    page, the error (or `done`) in a message above."""
    try:
        application, slot = documents.slot_of(current_user, application_id, requested_id)
    except NotFound:
        abort(404)
    back = url_for("candidate.application", application_id=application_id) + "#documents"
    return render_page("candidate/application.html", "documents/_slot.html", see_other=back,
                       page_message=(error, "error") if error else (done, "success"),
                       http_status=status, application=application, slot=slot, error=error,
                       locale=_locale(), saved=error is None)


@bp.route("/my/applications/<int:application_id>/documents/<int:requested_id>",
          methods=["POST"])
@login_required
def upload(application_id: int, requested_id: int):
    """Upload (or replace) the file for one requested document: a plain multipart form."""
    # Past the platform's largest file the body is refused before it is read; the
    # document's own limit is checked while the file is copied to storage.
    request.max_content_length = current_app.config["DOCUMENTS_MAX_FILE_MB"] * MB \
        + FORM_OVERHEAD
    try:
        form = UploadForm()
        upload_file = form.file.data
    except RequestEntityTooLarge:
        return _slot_response(application_id, requested_id, _(
            "This file is larger than %(n)d MB: it cannot be sent.",
            n=current_app.config["DOCUMENTS_MAX_FILE_MB"]), 422)
    if not form.validate_on_submit():
        abort(400)
    if upload_file is None or not getattr(upload_file, "filename", ""):
        return _slot_response(application_id, requested_id, _("Choose a file first."), 422)
    try:
        documents.upload(current_user, application_id, requested_id, upload_file.filename,
                         upload_file.stream)
    except NotFound:
        abort(404)
    except ValidationFailed as error:
        return _slot_response(application_id, requested_id, str(error), 422)
    finally:
        upload_file.close()
    return _slot_response(application_id, requested_id, None, done=_("File received."))


@bp.route("/my/applications/<int:application_id>/documents/<int:requested_id>/remove",
          methods=["POST"])
@login_required
def remove(application_id: int, requested_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        documents.remove(current_user, application_id, requested_id)
    except NotFound:
        abort(404)
    except ValidationFailed as error:
        return _slot_response(application_id, requested_id, str(error), 422)
    return _slot_response(application_id, requested_id, None, done=_("File removed."))


# Downloads ---------------------------------------------------------------------------------


def _private(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/applications/<int:application_id>/documents/<int:document_id>")
@login_required
def download(application_id: int, document_id: int):
    """One file, for its candidate, the campaign's assigned staff and admins."""
    try:
        document = documents.document_for(current_user, application_id, document_id)
    except NotFound:
        abort(404)
    except NotAllowed:
        abort(403)
    response = send_file(documents.open_document(document), mimetype=document.content_type,
                         as_attachment=True, download_name=document.filename, max_age=0,
                         conditional=False, etag=False)
    return _private(response)


@bp.route("/applications/<int:application_id>/documents.zip")
@login_required
def download_zip(application_id: int):
    """All of an application's files in one ZIP, written as it is sent."""
    try:
        application = documents.readable_application(current_user, application_id)
    except NotFound:
        abort(404)
    except NotAllowed:
        abort(403)
    files = documents.documents_of(application)
    if not files:
        abort(404)
    response = Response(stream_with_context(documents.zip_stream(files, _locale())),
                        mimetype="application/zip")
    response.headers["Content-Disposition"] = \
        f'attachment; filename="{documents.zip_name(application)}"'
    return _private(response)


@bp.route("/emails/<int:message_id>/attachments/<int:position>")
@login_required
def email_attachment(message_id: int, position: int):
    """A file an email carried: the very bytes it was sent with."""
    try:
        item, stream = documents.message_attachment(current_user, message_id, position)
    except NotFound:
        abort(404)
    except NotAllowed:
        abort(403)
    response = send_file(stream, mimetype=item.content_type, as_attachment=True,
                         download_name=item.filename, max_age=0, conditional=False, etag=False)
    return _private(response)


@bp.route("/files/<token>")
def signed_file(token: str):
    """A file an email linked to instead of attaching it: the signed, expiring link is the
    permission."""
    try:
        sha256, filename, content_type = letters.read_link_token(token)
        stream = documents.store().open(sha256)
    except (NotFound, StorageError):
        abort(404)
    response = send_file(stream, mimetype=content_type, as_attachment=True,
                         download_name=filename, max_age=0, conditional=False, etag=False)
    return _private(response)
