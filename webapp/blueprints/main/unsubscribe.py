"""One-click unsubscribe (RFC 8058): POST only, no session, a signed token; a GET shows a
confirmation page with the button, so that link scanners unsubscribe nobody."""

from flask import abort, render_template, request

from webapp import outbox
from webapp.blueprints.main import bp
from webapp.extensions import csrf

# GET  /unsubscribe/<token>   the confirmation page
# POST /unsubscribe/<token>   unsubscribe (the mail client's one-click POST, or the button)


@bp.route("/unsubscribe/<token>", methods=["GET"])
def unsubscribe_confirm(token: str):
    address = outbox.unsubscribe_address(token)
    if address is None:
        abort(404)
    return render_template("main/unsubscribe.html", address=address, token=token, done=False)


@bp.route("/unsubscribe/<token>", methods=["POST"])
@csrf.exempt  # the mail provider posts with no session and no form of ours (RFC 8058)
def unsubscribe(token: str):
    one_click = request.form.get("List-Unsubscribe") == "One-Click"
    address = outbox.unsubscribe(token, "one-click" if one_click else "confirmation page")
    if address is None:
        abort(404)
    return render_template("main/unsubscribe.html", address=address, token=token, done=True)
