"""A service that refuses leaves nothing behind: it raises before it commits, so the
request's one unit of work is all or nothing."""

import pytest

from tests import factories
from webapp.core.errors import ValidationFailed
from webapp.extensions import db
from webapp.models import Application
from webapp.services import applications

ANSWERS = applications.Answers(title="Kept?", summary="S", motivation="M", confirmed=True)


def _title(application_id: int) -> str:
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(Application, application_id).title


def test_a_refused_submission_changes_nothing(app):
    with app.app_context():
        candidate = factories.make_user(email="new@example.org", confirmed=False)
        application = factories.make_application(factories.make_campaign(), candidate)
        db.session.commit()
        with pytest.raises(ValidationFailed):
            applications.submit(candidate, application.id, ANSWERS)
        assert _title(application.id) == "My project"


def test_checking_a_submission_changes_nothing(app):
    with app.app_context():
        candidate = factories.make_user(email="new@example.org")
        application = factories.make_application(factories.make_campaign(), candidate)
        db.session.commit()
        incomplete = applications.Answers(title="Kept?")
        with pytest.raises(ValidationFailed):
            applications.check_submission(candidate, application.id, incomplete)
        assert _title(application.id) == "My project"
