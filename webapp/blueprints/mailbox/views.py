"""Development only: the messages the local mail catcher received (`make run`)."""

from flask import Response, abort, current_app, flash, request, url_for
from flask_babel import gettext as _

from webapp.blueprints.mailbox import bp
from webapp.models import Role
from webapp.services import mailbox
from webapp.web.access import role_required
from webapp.web.htmx import render_page
from webapp.web.redirects import see_other

# Routes:
#   GET  /mailbox/           the caught messages, newest first
#   GET  /mailbox/<name>     one message
#   POST /mailbox/clear      empty the mailbox


@bp.before_request
def catcher_enabled():
    if not current_app.config.get("DEV_MAIL_CATCHER"):
        abort(404)


@bp.route("/")
@role_required(Role.ADMIN)
def index():
    """What the development mail catcher received; polled by the page itself, which gets 204
    (nothing to swap, so nothing loses focus) while no message arrived or left."""
    version = mailbox.version()
    if request.args.get("seen") == version:  # only the page's poll asks with `seen`
        return Response(status=204)
    return render_page("mailbox/index.html", "mailbox/_messages.html",
                       listing=mailbox.list_caught(request.args.get("page")), version=version)


@bp.route("/<name>")
@role_required(Role.ADMIN)
def show(name: str):
    """One caught message."""
    message = mailbox.get(name)
    return render_page("mailbox/show.html", message=message)


@bp.route("/clear", methods=["POST"])
@role_required(Role.ADMIN)
def clear():
    """Empty the mailbox."""
    count = mailbox.clear()
    flash(_("%(num)d messages deleted.", num=count), "success")
    return see_other(url_for("mailbox.index"))
