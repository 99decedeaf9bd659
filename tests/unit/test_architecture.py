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
