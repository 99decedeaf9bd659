"""Where commits happen: a service's public function is one unit of work and commits at its
end; views, the web layer, models and jobs never commit by themselves; nothing commits and
then raises (the caller would report a failure for work already saved)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NEVER_COMMIT = ("webapp/blueprints", "webapp/web", "webapp/models", "jobs")
COMMIT_THEN_RAISE = ("webapp/services", "webapp/outbox")
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
ENDS = (ast.Return, ast.Raise, ast.Continue, ast.Break)
# The one exception, by function: the sign-in throttle counts a refused attempt, so the count
# is committed before the refusal is raised (else the request's rollback would forget it and
# the throttle would never hold anyone back). Nothing else is written before it.
COUNTED_BEFORE_REFUSED = {"webapp/services/sign_in.py check_password"}


def _calls(node: ast.AST, name: str) -> list[int]:
    """The lines of the `*.name()` calls in `node`, nested scopes left out."""
    found, pending = [], [node]
    while pending:
        current = pending.pop()
        if isinstance(current, ast.Call) and isinstance(current.func, ast.Attribute) \
                and current.func.attr == name:
            found.append(current.lineno)
        pending.extend(child for child in ast.iter_child_nodes(current)
                       if not isinstance(child, SCOPES))
    return found


def _where(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def commits(path: Path) -> list[str]:
    return [f"{_where(path)}:{node.lineno}" for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "commit"]


def _scan(body: list[ast.stmt], committed: bool, found: list[int]) -> bool:
    """Walk a block in order: each `raise` met once a commit has run is found. Returns whether
    a commit may have run at the block's end (a branch that returns or raises leaves none
    behind it)."""
    for stmt in body:
        if isinstance(stmt, SCOPES):
            continue
        if isinstance(stmt, ast.Raise) and committed:
            found.append(stmt.lineno)
        if isinstance(stmt, ast.Try | ast.TryStar):
            after_body = _scan(stmt.body, committed, found)
            for handler in stmt.handlers:
                if not _calls(handler, "rollback"):  # a handler that rolls back may raise
                    _scan(handler.body, after_body, found)
            after = _scan(stmt.orelse, after_body, found)
            committed = _scan(stmt.finalbody, after, found)
        elif isinstance(stmt, ast.For | ast.AsyncFor | ast.While):
            once = _scan(stmt.body, committed, [])
            _scan(stmt.body, once, found)  # the next turn runs after this one's commit
            committed = _scan(stmt.orelse, once, found) or once
        elif isinstance(stmt, ast.If | ast.With | ast.AsyncWith | ast.Match):
            blocks = ([stmt.body, stmt.orelse] if isinstance(stmt, ast.If)
                      else [case.body for case in stmt.cases] if isinstance(stmt, ast.Match)
                      else [stmt.body])
            if _calls(getattr(stmt, "test", None) or ast.Pass(), "commit"):
                committed = True
            ends = [_scan(block, committed, found) and not (block and isinstance(block[-1],
                                                                                  ENDS))
                    for block in blocks]
            committed = committed or any(ends)
        elif _calls(stmt, "commit"):
            committed = True
    return committed


def raises_after_commit(path: Path) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines: list[int] = []
            _scan(node.body, False, lines)
            found += [f"{_where(path)}:{line} in {node.name}" for line in lines]
    return found


def test_views_the_web_layer_models_and_jobs_never_commit():
    assert [c for folder in NEVER_COMMIT for path in sorted((ROOT / folder).rglob("*.py"))
            for c in commits(path)] == []


def test_nothing_in_the_services_or_the_outbox_raises_after_committing():
    found = [r for folder in COMMIT_THEN_RAISE for path in sorted((ROOT / folder).rglob("*.py"))
             for r in raises_after_commit(path)]
    functions = {f"{r.split(':')[0]} {r.rsplit(' in ', 1)[1]}" for r in found}
    assert functions - COUNTED_BEFORE_REFUSED == set(), found
    assert functions == COUNTED_BEFORE_REFUSED  # the exception still stands: keep it listed


def test_the_scan_finds_a_commit_then_a_raise(tmp_path):
    module = tmp_path / "service.py"
    module.write_text(
        "def a(s):\n    s.commit()\n    raise ValueError\n"           # found: line 3
        "def b(s, x):\n    if x:\n        s.commit()\n        return\n    raise ValueError\n"
        "def c(s):\n    try:\n        s.commit()\n    except E:\n        s.rollback()\n"
        "        raise\n"
        "def d(s, xs):\n    for x in xs:\n        if x:\n            raise ValueError\n"
        "        s.commit()\n"                                          # found: line 18
        "def e(s):\n    try:\n        s.commit()\n    except E:\n        raise F\n"  # line 24
        "def f(s):\n    s.commit()\n    def g():\n        raise ValueError\n    return g\n")
    assert [r.split(":", 1)[1] for r in raises_after_commit(module)] == [
        "3 in a", "18 in d", "24 in e"]
    assert len(commits(module)) == 6
