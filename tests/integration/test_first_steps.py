"""The README's first steps describe the demo as it is: who speaks French, whose application is
a draft."""

from pathlib import Path

import sqlalchemy as sa

from webapp.extensions import db as _db
from webapp.models import Application, User
from webapp.services import demo


def test_the_demo_matches_the_readme(app):
    with app.app_context():
        demo.seed_demo()
        users = {u.email: u for u in _db.session.scalars(sa.select(User))}
        assert users["admin@missive.example.org"].locale == "en"
        assert users["manager@missive.example.org"].locale == "fr"
        assert users["evaluator@missive.example.org"].locale == "fr"
        assert users["camille@example.org"].locale == "fr"
        assert users["sam@example.org"].locale == "en"
        status = {a.candidate.email: a.status.code for a in _db.session.scalars(
            sa.select(Application))}
        assert status["sam@example.org"] == "draft"
        assert status["camille@example.org"] != "draft"
    text = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert ("| `sam@example.org` (Sam, candidate) | English | Sam's application is still a "
            "**draft**") in text
    assert "| `manager@missive.example.org` (Morgan, manager) | **French**" in text
