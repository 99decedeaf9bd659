"""Only the outbox writes outbox rows: hooks that note any write of `OutboxMessage` (a new
row, a changed column, an INSERT/UPDATE/DELETE on its table) made by code of the app outside
`webapp/outbox/`. The conftest installs them for every test and fails a test that made one.

The writer is the nearest frame of the project's own code (the app or the tests): a row the
outbox adds and a service commits is the outbox's write; a test may write rows as it likes.
"""

import sys
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.sql.dml import UpdateBase

from webapp.models.outbox import OutboxMessage

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "webapp") + "/"
ALLOWED = (str(ROOT / "webapp" / "outbox") + "/", str(ROOT / "webapp" / "migrations") + "/")
TESTS = str(ROOT / "tests") + "/"
TABLE = OutboxMessage.__tablename__

violations: list[str] = []


def _writer() -> str | None:
    """Where the app wrote from, when it is outside the outbox; None otherwise."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith(TESTS) and not name.endswith("outbox_boundary.py"):
            return None
        if name.startswith(APP):
            return None if name.startswith(ALLOWED) else f"{name}:{frame.f_lineno}"
        frame = frame.f_back
    return None


def _in_flush() -> bool:
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_name == "flush" and "sqlalchemy/orm" in frame.f_code.co_filename:
            return True
        frame = frame.f_back
    return False


def _note(what: str) -> None:
    where = _writer()
    if where:
        violations.append(f"{what} from {where}")


def _on_init(target, args, kwargs):
    _note("new OutboxMessage")


def _on_set(column: str):
    def listener(target, value, oldvalue, initiator):
        _note(f"OutboxMessage.{column} set")
    return listener


def _on_execute(conn, clauseelement, multiparams, params, execution_options):
    if isinstance(clauseelement, UpdateBase) and getattr(clauseelement.table, "name", "") == TABLE:
        if not _in_flush():  # the ORM's own statements: their objects were checked above
            _note(f"{type(clauseelement).__name__.upper()} {TABLE}")
    elif isinstance(clauseelement, sa.TextClause):
        sql = clauseelement.text.lower()
        if TABLE in sql and any(verb in sql for verb in ("insert", "update", "delete")):
            _note(f"SQL text on {TABLE}")


_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    sa.event.listen(OutboxMessage, "init", _on_init)
    for attribute in sa.inspect(OutboxMessage).column_attrs:
        sa.event.listen(getattr(OutboxMessage, attribute.key), "set", _on_set(attribute.key))
    sa.event.listen(sa.engine.Engine, "before_execute", _on_execute)
    _installed = True
