"""Imports flow one way: blueprints -> services -> models; jobs -> services -> models."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _modules(package: str):
    for path in (ROOT / package).rglob("*.py"):
        if "migrations" not in path.parts:
            yield path, _imports(path)


def test_webapp_never_imports_jobs():
    for path, names in _modules("webapp"):
        assert not any(n == "jobs" or n.startswith("jobs.") for n in names), path


def test_models_know_nothing_of_services_blueprints_or_requests():
    for path, names in _modules("webapp/models"):
        bad = {n for n in names if n.startswith(("webapp.services", "webapp.blueprints",
                                                  "webapp.web", "flask"))} - {"flask_login"}
        assert not bad, (path, bad)


def test_services_do_not_touch_requests_or_the_ui():
    for path, names in _modules("webapp/services"):
        bad = {n for n in names if n.startswith(("webapp.blueprints", "webapp.web"))}
        assert not bad, (path, bad)
        source = path.read_text()
        for forbidden in ("flask import request", "render_template", "redirect(", "flask.g"):
            assert forbidden not in source, (path, forbidden)


def test_a_blueprint_never_imports_another_blueprint():
    for path, names in _modules("webapp/blueprints"):
        own = path.relative_to(ROOT / "webapp/blueprints").parts[0]
        if own == "__init__.py":  # the registry of all blueprints
            continue
        for name in names:
            if name.startswith("webapp.blueprints."):
                assert name.split(".")[2] == own, (path, name)
