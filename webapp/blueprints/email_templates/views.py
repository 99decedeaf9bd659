"""Email templates ("Modèles d'e-mail").

Routes:
    /                       list (search by name; which automatic emails use each)
    /new                    create
    /<id>                   edit (with its history)
    /<id>/duplicate         copy
    /<id>/delete            delete, refused while an automatic email uses it
    /preview                live preview of the editor's current content
    /send-test              "Send me a test": queue the preview to the signed-in user
"""

from flask import flash, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from webapp.blueprints.email_templates import bp
from webapp.blueprints.email_templates.forms import TemplateForm, TemplateSearchForm
from webapp.core.errors import ValidationFailed
from webapp.core.paging import Sort
from webapp.services import account_emails, email_templates, permissions, templating
from webapp.services.email_templates import LOCALES, TemplateInput, VersionInput
from webapp.web.access import PLATFORM_MANAGERS, role_required
from webapp.web.forms import apply_errors, id_or_none
from webapp.web.htmx import render_page
from webapp.web.redirects import see_other


@bp.route("/")
@role_required(*PLATFORM_MANAGERS)
def index():
    """List the templates and the automatic emails that use them."""
    form = TemplateSearchForm(request.args)
    sort = Sort.parse(request.args.get("sort"), email_templates.LIST_SORTS,
                      email_templates.DEFAULT_SORT)
    page = email_templates.template_page(form.q.data or "", sort,
                                         request.args.get("page", 1, type=int))
    used_by = email_templates.triggers_using(t.id for t in page.rows)
    return render_page("email_templates/index.html", "email_templates/_list.html", form=form,
                       templates=page.rows, listing=page, sort=sort,
                       list_args={"q": form.q.data or None}, used_by=used_by,
                       system_templates=account_emails.system_templates(),
                       system_purposes=account_emails.purposes(),
                       may_edit_system=permissions.can_edit_account_emails(current_user),
                       system_changes=email_templates.last_changes(
                           t.id for t in account_emails.system_templates()))


@bp.route("/new", methods=["GET", "POST"])
@role_required(*PLATFORM_MANAGERS)
def new():
    """Create a template."""
    return _editor(None)


@bp.route("/<int:template_id>", methods=["GET", "POST"])
@role_required(*PLATFORM_MANAGERS)
def edit(template_id: int):
    """Edit a template's headers and its version in each language."""
    return _editor(email_templates.template_for(current_user, template_id))


@bp.route("/<int:template_id>/duplicate", methods=["POST"])
@role_required(*PLATFORM_MANAGERS)
def duplicate(template_id: int):
    """Copy a template under a new name."""
    template = email_templates.template_for(current_user, template_id)
    copy = email_templates.duplicate_template(current_user, template)
    flash(_("Template duplicated."), "success")
    return see_other(url_for(".edit", template_id=copy.id))


@bp.route("/<int:template_id>/delete", methods=["GET", "POST"])
@role_required(*PLATFORM_MANAGERS)
def delete(template_id: int):
    """Delete a template that no automatic email uses (GET: the no-JavaScript confirmation)."""
    template = email_templates.template_for(current_user, template_id)
    if request.method == "GET":
        return render_template("email_templates/confirm_delete.html", template=template)
    try:
        email_templates.delete_template(current_user, template)
    except ValidationFailed as error:
        flash(str(error), "error")
        return see_other(url_for(".edit", template_id=template_id))
    flash(_("Template deleted."), "success")
    return see_other(url_for(".index"))


@bp.route("/preview", methods=["POST"])
@role_required(*PLATFORM_MANAGERS)
def preview():
    """Render the editor's current content with sample values or a chosen application."""
    form = _form()
    rendered, problems = email_templates.preview(
        _input(form, _posted_template(form)), form.preview_locale.data or "fr",
        _preview_application(form)
    )
    return render_page("email_templates/preview.html", "email_templates/_preview.html",
                       rendered=rendered, problems=problems, form=form)


@bp.route("/send-test", methods=["POST"])
@role_required(*PLATFORM_MANAGERS)
def send_test():
    """Queue the previewed message to the signed-in user, marked as a test."""
    form = _form()
    template = None
    status, sent_to, problems = 200, None, []
    if form.template_id.data:
        template_id = id_or_none(form.template_id.data)
        if template_id is None:
            return render_page(
                "email_templates/test_result.html", "email_templates/_test_result.html",
                sent_to=None, problems=[_("This template does not exist.")]), 422
        template = email_templates.template_for(current_user, template_id)
    if not form.validate():
        status = 422
        problems = [m for messages in form.errors.values() for m in messages]
    else:
        try:
            sent_to = email_templates.send_test(
                current_user, _input(form, template), form.preview_locale.data or "fr",
                _preview_application(form), template,
            )
        except ValidationFailed as error:
            status = 422
            problems = [m for messages in error.errors.values() for m in messages]
    return render_page("email_templates/test_result.html", "email_templates/_test_result.html",
                       sent_to=sent_to, problems=problems), status


# Helpers ----------------------------------------------------------------------------------


def _posted_template(form: TemplateForm):
    """The stored template the editor previews, if any: it decides which placeholders apply
    (system or campaign)."""
    template_id = id_or_none(form.template_id.data)
    if template_id is None or email_templates.get_template(template_id) is None:
        return None
    return email_templates.template_for(current_user, template_id)


def _form(template=None) -> TemplateForm:
    if template is not None and request.method == "GET":
        form = TemplateForm(obj=template, template_id=template.id)
        for version in template.versions:
            if version.locale in LOCALES:
                subject, html, text = form.version_fields(version.locale)
                subject.data, html.data, text.data = (version.subject, version.body_html,
                                                      version.body_text)
        form.preview_locale.data = template.default_locale
    else:
        form = TemplateForm()
        if request.method == "GET":
            form.default_locale.data = form.preview_locale.data = str(get_locale())
    form.preview_application.choices = [SelectChoice("", _("Sample values"))] + [
        SelectChoice(a.id, f"{a.reference} · {a.candidate.name} · {a.campaign.label}")
        for a in email_templates.recent_applications()
    ]
    return form


def _input(form: TemplateForm, template=None) -> TemplateInput:
    versions = {}
    for locale in LOCALES:
        subject, html, text = form.version_fields(locale)
        versions[locale] = VersionInput(subject.data or "", html.data or "", text.data or "")
    return TemplateInput(
        name=form.name.data or "", default_locale=form.default_locale.data or "fr",
        sender_name=form.sender_name.data or "", reply_to=form.reply_to.data or "",
        cc=form.cc.data or "", bcc=form.bcc.data or "", versions=versions,
        system_key=template.system_key if template is not None else None,
    )


def _preview_application(form: TemplateForm):
    application_id = form.preview_application.data
    return email_templates.get_application(application_id) if application_id else None


def _editor(template):
    form = _form(template)
    if form.validate_on_submit():
        try:
            saved = email_templates.save_template(current_user, template,
                                                  _input(form, template),
                                                  _preview_application(form))
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            flash(_("Template saved."), "success")
            return see_other(url_for(".edit", template_id=saved.id))
    elif form.is_submitted():
        # Show every problem at once: the domain's too, next to fields the form found fine.
        domain_errors = email_templates.validate(_input(form, template), template,
                                                 _preview_application(form))
        apply_errors(form, ValidationFailed(
            {name: messages for name, messages in domain_errors.items()
             if not getattr(form, name).errors}))
    status = 422 if form.errors or form.form_errors else 200
    system = bool(template is not None and template.system_key)
    context = {"form": form, "template": template, "locales": LOCALES,
               "help_items": templating.help_items(templating.names_for(system), str(get_locale())),
               "system_purposes": account_emails.purposes()}
    if template is not None:
        context["history"] = email_templates.template_history(template)
        context["used_by"] = email_templates.triggers_using([template.id])[template.id]
    return render_template("email_templates/edit.html", **context), status
