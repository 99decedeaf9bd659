"""Alembic run in the test process, on a database of the test's own: the same migrations as
`flask db upgrade` (tests/integration/test_factory_and_cli.py runs that command itself), without
starting an interpreter and importing the app for each step."""

import logging
from contextlib import contextmanager

import flask_migrate
import sqlalchemy as sa

from tests.databases import drop_database
from webapp import create_app
from webapp.extensions import db


def empty_database(database_url: str, tmp_path) -> str:
    """A database with nothing in it, beside the test's own: a new SQLite file, or a new
    PostgreSQL database on the test's server."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'migrated.db'}"
    url = sa.engine.make_url(database_url)
    name = f"{url.database}_migrated"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    drop_database(admin, name)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


class Migrator:
    """`migrator.upgrade()`, `migrator.upgrade("c8e2f4a6b1d3")`, `migrator.downgrade(rev)`."""

    def __init__(self, url: str):
        self.app = create_app({"TESTING": True, "SECRET_KEY": "test-secret",
                               "SQLALCHEMY_DATABASE_URI": url})

    def upgrade(self, revision: str = "head") -> None:
        self._run(flask_migrate.upgrade, revision)

    def downgrade(self, revision: str) -> None:
        self._run(flask_migrate.downgrade, revision)

    def _run(self, command, revision: str) -> None:
        with _logging_kept(), self.app.app_context():
            command(revision=revision)
            db.session.remove()
            db.engine.dispose()  # the test's next connection sees every step committed


@contextmanager
def _logging_kept():
    """Alembic's env.py loads alembic.ini's logging setup, which replaces the root handlers
    and disables every logger it does not name: put the test process's logging back."""
    manager = logging.Logger.manager
    root = logging.getLogger()
    before = {name: (logger.disabled, logger.level, logger.handlers[:], logger.propagate)
              for name, logger in manager.loggerDict.items()
              if isinstance(logger, logging.Logger)}
    root_state = (root.level, root.handlers[:])
    try:
        yield
    finally:
        root.setLevel(root_state[0])
        root.handlers[:] = root_state[1]
        for name, logger in list(manager.loggerDict.items()):
            if not isinstance(logger, logging.Logger):
                continue
            disabled, level, handlers, propagate = before.get(name, (False, 0, [], True))
            logger.disabled, logger.propagate = disabled, propagate
            logger.setLevel(level)
            logger.handlers[:] = handlers
