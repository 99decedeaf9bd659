import sqlalchemy as sa
from flask import render_template
from flask_login import current_user, login_required

from webapp.blueprints.candidate import bp
from webapp.extensions import db
from webapp.models import Campaign


@bp.route("/apply/")
def open_campaigns():
    """The public list of campaigns."""
    campaigns = db.session.scalars(
        sa.select(Campaign).where(Campaign.published).order_by(Campaign.closes_at)
    ).all()
    return render_template("candidate/open_campaigns.html", campaigns=campaigns)


@bp.route("/my/applications")
@login_required
def my_applications():
    """The signed-in person's applications."""
    return render_template("candidate/my_applications.html", user=current_user)
