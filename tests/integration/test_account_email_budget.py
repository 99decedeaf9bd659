"""An account email is queued even when its request has already spent its rendering time:
the built-in wording always renders, so nobody is locked out by a slow bulk change or a slow
template earlier in the same request."""

from datetime import timedelta

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import User
from webapp.models.outbox import OutboxMessage
from webapp.services import account_emails, templating


def test_a_reset_email_is_queued_in_its_built_in_wording_once_the_request_budget_is_spent(
        app, users):
    with app.test_request_context():
        account_emails.ensure_system_templates()
        user = db.session.scalars(sa.select(User).where(User.email == "manager@example.org")
                                  ).one()
        templating.open_request_budget(-1.0)  # this request's rendering time is already spent
        try:
            account_emails.queue(user, account_emails.PASSWORD_RESET, "/auth/reset/abc",
                                 timedelta(hours=1))
        finally:
            templating.close_request_budget()
        db.session.commit()
        [row] = db.session.scalars(sa.select(OutboxMessage).where(
            OutboxMessage.to_addr == "manager@example.org")).all()
        assert "/auth/reset/abc" in row.body_html and "/auth/reset/abc" in row.body_text
        assert row.subject
