"""Sign-ups for the same new address sent at the same moment, from real threads to a real
server on a real database: every one gets the answer any sign-up gets, one account is made."""

import sqlalchemy as sa

from tests.integration.test_sign_in_races import burst, serving
from webapp.extensions import db
from webapp.models import User

SIGNUP = {"email": "twice@example.org", "first_name": "Camille", "last_name": "Lefèvre",
          "password": "a-strong-pass-1", "confirm": "a-strong-pass-1"}


def test_simultaneous_sign_ups_for_one_new_address_all_get_the_same_answer(app):
    app.config["MAIL_PER_CLIENT_PER_HOUR"] = 1000
    with serving(app) as port:
        for round_ in range(3):
            fields = dict(SIGNUP, email=f"twice{round_}@example.org")
            answers = burst(port, [("/auth/signup", fields, "")] * 6)
            statuses = [status for status, _ in answers]
            assert statuses == [303] * 6, [a[1][:300] for a in answers if a[0] != 303]
    with app.app_context():
        for round_ in range(3):
            assert db.session.scalar(sa.select(sa.func.count(User.id)).where(
                User.email == f"twice{round_}@example.org")) == 1
