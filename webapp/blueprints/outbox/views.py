"""The sysadmin's Outbox: counters, filtered list, one message, retry / cancel / resend."""

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from webapp import outbox
from webapp.blueprints.outbox import bp
from webapp.blueprints.outbox.forms import LABELS, BulkForm, FilterForm
from webapp.core.errors import ValidationFailed
from webapp.models import Role
from webapp.services import held_emails
from webapp.web.access import role_required
from webapp.web.csv_export import csv_response
from webapp.web.forms import id_or_none
from webapp.web.htmx import render_page
from webapp.web.redirects import see_other

FINAL_STATES = ("sent", "failed", "cancelled")
STOP_POLLING = 286  # htmx stops an `every` poll on this status

# Routes, in URL order:
#   GET  /outbox/                      list (page, or the results fragment for htmx)
#   GET  /outbox/export.csv            the filtered list as a CSV file (streamed)
#   GET  /outbox/counters              counters and banner (polled)
#   GET  /outbox/bulk                  confirmation with the count (retry|cancel)
#   POST /outbox/bulk                  do it for every row matching the filter
#   GET  /outbox/<id>                  one message (page, or its panel for htmx polling)
#   GET  /outbox/<id>/resend           confirmation: this emails the person again
#   POST /outbox/<id>/retry|cancel|resend
#   POST /outbox/<id>/unsuppress       end its address's suppression, queue it again
#   POST /outbox/pauses/<id>/resume    resume an automatic email paused for its bounces
#   GET  /outbox/suppressed.csv        the suppressed addresses


def _filter_form() -> FilterForm:
    form = FilterForm(formdata=request.args)
    form.set_choices(outbox.filter_choices())
    return form


def _context(form: FilterForm) -> dict:
    return {"form": form, **LABELS}


@bp.route("/")
@role_required(Role.ADMIN)
def index():
    """Watch the outbox."""
    form = _filter_form()
    if not form.validate():
        overview = outbox.overview(None)
        return render_page("outbox/index.html", "outbox/_results.html", **overview,
                           **_context(form), http_status=422)
    overview = outbox.overview(form.to_filter(), before_id=id_or_none(request.args.get("before")))
    return render_page("outbox/index.html", "outbox/_results.html", **overview,
                       page_context=_page_only, **_context(form))


def _page_only() -> dict:
    """What the page shows around the list: held emails, and after the relay (bounces per
    automatic email, pauses, what was not understood)."""
    return {"held_groups": held_emails.groups(),
            "delivery": {"per_email": outbox.per_automatic_email(),
                         "pauses": outbox.active_pauses(), "unknown": outbox.unknown_messages(),
                         "suppressed": outbox.suppressed_count()}}


@bp.route("/pauses/<int:pause_id>/resume", methods=["POST"])
@role_required(Role.ADMIN)
def resume_pause(pause_id: int):
    """Resume an automatic email paused for its bounce rate; its held emails go."""
    released = outbox.resume(current_user, pause_id)
    flash(ngettext("Resumed: %(num)d email released.", "Resumed: %(num)d emails released.",
                   released), "success")
    return see_other(url_for("outbox.index"))


@bp.route("/<int:message_id>/unsuppress", methods=["POST"])
@role_required(Role.ADMIN)
def unsuppress(message_id: int):
    """End the suppression of a suppressed email's address and send what it held back."""
    outbox.unsuppress(current_user, message_id)
    flash(_("The address is no longer suppressed; its emails are queued."), "success")
    return see_other(url_for("outbox.detail", message_id=message_id))


@bp.route("/suppressed.csv")
@role_required(Role.ADMIN)
def suppressed_csv():
    """The addresses Missive no longer writes to, as a CSV file."""
    header = (_("Address"), _("Kind"), _("Reason"), _("Source"), _("Since"), _("Until"))
    return csv_response("suppressed.csv", header, outbox.export_suppressed())


@bp.route("/export.csv")
@role_required(Role.ADMIN)
def export():
    """The filtered list, every page of it, as a CSV file (streamed)."""
    form = _filter_form()
    if not form.validate():
        abort(400)
    header = (_("Id"), _("Created"), _("State"), _("Recipient"), _("Subject"), _("Attempts"),
              _("Sent"), _("Last error"), _("Campaign"), _("Automatic email"), "Message-ID")
    return csv_response("outbox.csv", header, outbox.export_rows(form.to_filter()))


@bp.route("/counters")
@role_required(Role.ADMIN)
def counters():
    """The live counters and the worker banner."""
    return render_page("outbox/_counters.html", "outbox/_counters.html",
                       counts=outbox.counters(), health=outbox.health(),
                       **LABELS)


@bp.route("/bulk", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def bulk():
    """Retry or cancel every message matching the filter, after a confirmation."""
    form = _filter_form()
    action = request.values.get("action")
    if action not in ("retry", "cancel") or not form.validate():
        abort(400)
    flt = form.to_filter()
    if request.method == "GET":
        states = outbox.RETRYABLE if action == "retry" else outbox.CANCELLABLE
        never_rendered = outbox.count_never_rendered(flt) if action == "retry" else 0
        return render_page("outbox/bulk.html", "outbox/_bulk_confirm.html", action=action,
                           count=outbox.count_matching(flt, states), bulk_form=BulkForm(),
                           never_rendered=never_rendered, **_context(form))
    if not BulkForm().validate_on_submit():
        abort(400)
    service = outbox.bulk_retry if action == "retry" else outbox.bulk_cancel
    count = service(current_user, flt)
    if action == "retry":
        text = ngettext("%(num)d message will be sent again.",
                        "%(num)d messages will be sent again.", count)
    else:
        text = ngettext("%(num)d message cancelled.", "%(num)d messages cancelled.", count)
    flash(text, "success")
    left = outbox.count_never_rendered(flt) if action == "retry" else 0
    if left:
        flash(ngettext("%(num)d message was never rendered and still cannot be: it stays as "
                       "it is (open it to see why).",
                       "%(num)d messages were never rendered and still cannot be: they stay "
                       "as they are (open one to see why).", left), "error")
    target = url_for("outbox.index", **form.query_args())
    return see_other(target, trigger="outboxChanged")


def _message_context(message) -> dict:
    """A message, and why it can be neither retried nor resent when it was never rendered
    and still cannot be: the page offers only what works."""
    return {"message": message, "never_rendered": outbox.never_rendered(message),
            "rendering_problem": outbox.rendering_problem(message), **LABELS}


@bp.route("/<int:message_id>")
@role_required(Role.ADMIN)
def detail(message_id: int):
    """One message: headers, HTML, text, attempts, links."""
    message = outbox.get(message_id)
    polled_to_the_end = message.state in FINAL_STATES and request.args.get("poll")
    return render_page("outbox/detail.html", "outbox/_detail.html",
                       http_status=STOP_POLLING if polled_to_the_end else 200,
                       **_message_context(message))


@bp.route("/<int:message_id>/resend")
@role_required(Role.ADMIN)
def confirm_resend(message_id: int):
    """Resending emails the person again: say so, and ask (a page, or a panel for htmx)."""
    message = outbox.get(message_id)
    return render_page("outbox/confirm_resend.html", "outbox/_resend_confirm.html",
                       **_message_context(message))


@bp.route("/<int:message_id>/<any(retry, cancel, resend):action>", methods=["POST"])
@role_required(Role.ADMIN)
def act(message_id: int, action: str):
    """Retry now, cancel, or resend one message."""
    if not BulkForm().validate_on_submit():
        abort(400)
    service = {"retry": outbox.retry_now, "cancel": outbox.cancel, "resend": outbox.resend}
    try:
        message = service[action](current_user, message_id)
    except ValidationFailed as error:
        flash(str(error), "error")
        message = outbox.get(message_id)
        status = 422
    else:
        flash({"retry": _("The message will be sent at the next drain."),
               "cancel": _("The message is cancelled."),
               "resend": _("A copy of the message is queued.")}[action], "success")
        status = 200
    if action == "resend" and status == 200:
        target = url_for("outbox.detail", message_id=message.id)
        return see_other(target, trigger="outboxChanged")
    return render_page("outbox/detail.html", "outbox/_detail.html",
                       see_other=url_for("outbox.detail", message_id=message_id),
                       http_status=status, trigger="outboxChanged", oob_messages=True,
                       **_message_context(message))
