"""pyproject.toml lists the wheel's packages by hand (a finder cannot map templates/ and static/
into webapp): a package added to the code must be added there too."""

import tomllib

from webapp import ROOT


def test_every_python_package_of_the_app_is_in_the_wheel():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    in_code = {".".join(path.parent.relative_to(ROOT).parts)
               for top in ("webapp", "jobs") for path in (ROOT / top).rglob("*.py")
               if "__pycache__" not in path.parts}
    assert in_code <= listed, f"add to pyproject.toml's packages: {sorted(in_code - listed)}"
    assert config["package-dir"] == {"webapp.templates": "templates", "webapp.static": "static"}
