"""Missive: calls for applications whose heart is automatic email."""

import os
import sys
from pathlib import Path

from flask import Flask

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent
# templates/ and static/ sit beside webapp/ in a checkout; an installed wheel carries them
# inside the package (pyproject.toml maps them there).
IN_CHECKOUT = (ROOT / "pyproject.toml").is_file() and (ROOT / "templates").is_dir()
UI_ROOT = ROOT if IN_CHECKOUT else PACKAGE
# Flask's own choice for an installed package: <prefix>/var/<name>-instance.
DEFAULT_INSTANCE = ROOT / "instance" if IN_CHECKOUT else Path(sys.prefix) / "var/missive-instance"


def create_app(test_config: dict | None = None) -> Flask:
    """Build the web application: config layers, extensions, blueprints."""
    instance_path = os.environ.get("MISSIVE_INSTANCE_PATH", str(DEFAULT_INSTANCE))
    app = Flask(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder=str(UI_ROOT / "templates"),
        static_folder=str(UI_ROOT / "static"),
    )
    os.makedirs(app.instance_path, exist_ok=True)

    from webapp.config import Config

    app.config.from_object(Config)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env()
    else:
        app.config.update(test_config)

    from webapp import setup

    setup.init_config(app)
    setup.init_extensions(app)
    setup.init_logging(app)
    setup.init_locale(app)
    setup.init_error_handlers(app)
    setup.init_security(app)
    setup.init_request_budget(app)
    setup.init_template_globals(app)
    setup.init_cli(app)

    from webapp.blueprints import register_blueprints

    register_blueprints(app)
    return app
