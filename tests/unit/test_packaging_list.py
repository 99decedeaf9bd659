"""pyproject.toml lists the wheel's packages by hand (a finder cannot map templates/ and static/
into webapp): a package added to the code must be added there too. And what the code imports
is declared there."""

import ast
import re
import sys
import tomllib
from importlib import metadata

from webapp import ROOT


def test_every_python_package_of_the_app_is_in_the_wheel():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    in_code = {".".join(path.parent.relative_to(ROOT).parts)
               for top in ("webapp", "jobs") for path in (ROOT / top).rglob("*.py")
               if "__pycache__" not in path.parts}
    assert in_code <= listed, f"add to pyproject.toml's packages: {sorted(in_code - listed)}"
    assert config["package-dir"] == {"webapp.templates": "templates", "webapp.static": "static"}


def _requirement_name(requirement: str) -> str:
    return _canonical(re.split(r"[\s<>=!~\[;]", requirement, maxsplit=1)[0])


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_package_the_app_imports_is_declared():
    """A package imported by the app is in pyproject.toml's dependencies, not merely installed
    because something else needs it today. Flask's own dependencies (Werkzeug, Jinja2, click,
    itsdangerous) are part of its API and come with it."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_requirement_name(r) for r in project["dependencies"]}
    with_flask = {_requirement_name(r) for r in metadata.requires("flask") or []
                  if "extra ==" not in r}
    providers = metadata.packages_distributions()
    imported = set()
    files = [*(ROOT / "webapp").rglob("*.py"), *(ROOT / "jobs").rglob("*.py"), ROOT / "wsgi.py"]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"webapp", "jobs"}
    undeclared = {module for module in third_party
                  if not {_canonical(d) for d in providers.get(module, [module])}
                  & (declared | with_flask)}
    assert not undeclared, f"imported but not declared in pyproject.toml: {sorted(undeclared)}"
