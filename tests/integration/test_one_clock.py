"""One clock: a row's timestamps come from the same `clock.now` as the code that wrote it."""

from datetime import datetime

from tests import factories
from tests.outbox_support import clock_fixture  # noqa: F401
from webapp.extensions import db
from webapp.models import AuditEntry


def test_column_defaults_read_the_clock_the_app_reads(app, clock):
    moment = datetime(2031, 5, 4, 3, 2, 1)
    clock.freeze(moment)
    with app.app_context():
        campaign = factories.make_campaign()
        user = factories.make_user(email="clock@example.org")
        entry = AuditEntry(action="clock.checked", object_type="clock", object_id=None)
        db.session.add(entry)
        db.session.commit()
        assert (campaign.created_at, user.created_at, entry.created_at) == (moment,) * 3
