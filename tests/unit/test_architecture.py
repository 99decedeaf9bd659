"""Imports flow one way: the import-linter contracts in pyproject.toml, and request objects
never reached for below the views."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What only a view may take from Flask: the request and what answers it.
REQUEST_NAMES = {"request", "g", "session", "render_template", "redirect", "make_response",
                 "abort", "flash", "url_for"}


def test_import_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def _flask_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "flask":
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id == "flask":
            names.add(node.attr)
    return names


def test_below_the_views_nothing_touches_the_request():
    for package in ("webapp/services", "webapp/outbox", "webapp/core", "webapp/models"):
        for path in (ROOT / package).rglob("*.py"):
            bad = _flask_names(path) & REQUEST_NAMES
            assert not bad, (path, bad)


WRITES = {"insert", "update", "delete"}


def _refers(node: ast.AST, names: set[str]) -> bool:
    """`node` is OutboxMessage, its table or a name bound to them (`table.c` included), or
    names the table in a string."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and "outbox_messages" in node.value
    while isinstance(node, ast.Attribute):
        node = node.value
    if isinstance(node, ast.Call):  # sa.table("outbox_messages", ...)
        return any(_refers(arg, names) for arg in node.args)
    return isinstance(node, ast.Name) and node.id in names


def _bound(body: list[ast.stmt], names: set[str]) -> set[str]:
    """The names these statements bind to OutboxMessage or its table (`_m = ...__table__.c`),
    nested functions left to their own scope."""
    bound = set(names)
    pending = list(body)
    while pending:
        node = pending.pop(0)
        if isinstance(node, ast.Assign) and _refers(node.value, bound):
            bound.update(t.id for t in node.targets if isinstance(t, ast.Name))
        pending.extend(child for child in ast.iter_child_nodes(node) if not isinstance(
            child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda))
    return bound


def outbox_writes(path: Path) -> list[str]:
    """Where `path` writes outbox rows: a new OutboxMessage, or an insert/update/delete of
    OutboxMessage, its table, or a name bound to either in that scope."""
    tree = ast.parse(path.read_text())
    module_names = _bound([n for n in tree.body if not isinstance(
        n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)], {"OutboxMessage"})
    scopes = [(tree, module_names)] + [
        (node, _bound(node.body, module_names)) for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
    found = set()
    for scope, names in scopes:
        for node in ast.walk(scope):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called == "OutboxMessage" or (
                    called in WRITES and node.args and _refers(node.args[0], names)):
                found.add(f"{path}:{node.lineno} {called}")
    return sorted(found)


def test_only_the_outbox_writes_outbox_rows():
    webapp = ROOT / "webapp"
    outside = [p for p in webapp.rglob("*.py")
               if not p.is_relative_to(webapp / "outbox")
               and not p.is_relative_to(webapp / "migrations")]
    assert [w for path in outside for w in outbox_writes(path)] == []


def test_the_outbox_write_scan_sees_a_write(tmp_path):
    module = tmp_path / "writer.py"
    module.write_text("import sqlalchemy as sa\nfrom webapp.models.outbox import OutboxMessage\n"
                      "table = OutboxMessage.__table__\n"
                      "def a(s, rows):\n    s.execute(sa.insert(table), rows)\n"
                      "def b(s, ids):\n    s.execute(sa.update(OutboxMessage).where())\n"
                      "def c(s):\n    s.add(OutboxMessage(to_addr='x'))\n")
    assert [w.rsplit(' ', 1)[1] for w in outbox_writes(module)] == [
        'insert', 'update', 'OutboxMessage']


# The outbox's rows, its business alone: `webapp.models` does not name them, so the only way
# to them is `webapp.models.outbox`, which the contract `outbox-table` forbids outside the
# outbox (tests and the bench read the table from there).
OUTBOX_ROWS = {"OutboxMessage", "OutboxAttempt", "WorkerHeartbeat"}


def _outbox_rows_from_models(path: Path) -> set[str]:
    return {alias.name for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.ImportFrom) and node.module == "webapp.models"
            for alias in node.names if alias.name in OUTBOX_ROWS}


def test_outbox_rows_are_not_taken_from_webapp_models():
    import webapp.models

    assert OUTBOX_ROWS & set(vars(webapp.models)) == set()
    taking = {p.relative_to(ROOT).as_posix() for folder in ("webapp", "jobs", "bench", "tests")
              for p in (ROOT / folder).rglob("*.py") if _outbox_rows_from_models(p)}
    assert taking == set()
