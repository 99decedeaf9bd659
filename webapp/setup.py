"""The init_* steps of create_app, one concern each."""

import logging
import os
import secrets
import sqlite3
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, has_request_context, request, session
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from webapp.config import DEV_SECRET_KEY
from webapp.extensions import babel, csrf, db, login_manager, migrate

MIGRATIONS_DIR = str(Path(__file__).parent / "migrations")


def init_config(app: Flask) -> None:
    """Derive the settings that depend on the instance folder; refuse unsafe production setups."""
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = (
            f"sqlite:///{Path(app.instance_path) / 'missive.db'}"
        )
    if not app.config.get("SECRET_KEY"):
        key_file = Path(app.instance_path) / "secret_key"
        if not key_file.exists():
            key_file.write_text(secrets.token_hex(32))
            key_file.chmod(0o600)
        app.config["SECRET_KEY"] = key_file.read_text().strip()
    if app.config["SECRET_KEY"] == DEV_SECRET_KEY and not (app.debug or app.testing):
        raise RuntimeError("Refusing to start in production with the development SECRET_KEY.")
    if int(app.config.get("TRUSTED_PROXIES") or 0):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite"):
        _connect_args(app, {"timeout": app.config["SQLITE_BUSY_TIMEOUT_MS"] / 1000})
    elif uri.startswith("postgresql"):
        args = postgresql_connect_args(app.config)
        given = sa.engine.make_url(uri).query.get("options")
        if given and "options" in args:  # the URL's own options come first
            given = " ".join(given) if isinstance(given, tuple) else given
            args["options"] = f"{given} {args['options']}"
        _connect_args(app, args)


def postgresql_connect_args(config) -> dict:
    """libpq settings that bound every wait on a silent server or network: the connection
    attempt, a dead peer (TCP keepalives while idle, TCP_USER_TIMEOUT while data waits for its
    acknowledgement) and a statement the server runs too long."""
    tcp = int(config["DATABASE_TCP_TIMEOUT_SECONDS"])
    args = {"connect_timeout": int(config["DATABASE_CONNECT_TIMEOUT_SECONDS"])}
    if tcp:
        args.update(keepalives=1, keepalives_idle=max(1, tcp // 3),
                    keepalives_interval=max(1, tcp // 9), keepalives_count=3,
                    tcp_user_timeout=tcp * 1000)
    statement = int(config["DATABASE_STATEMENT_TIMEOUT_SECONDS"])
    if statement:
        args["options"] = f"-c statement_timeout={statement * 1000}"
    return args


def _connect_args(app: Flask, defaults: dict) -> None:
    """The engine's connect arguments: these defaults, under what the configuration sets."""
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options["connect_args"] = {**defaults, **options.get("connect_args", {})}
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


@sa.event.listens_for(sa.engine.Engine, "connect")
def _configure_sqlite(dbapi_connection, _record) -> None:
    """WAL lets readers work while the worker writes; SQLite leaves foreign keys off by default."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def init_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None

    from webapp import outbox
    from webapp.models import User
    from webapp.services import render_again, sessions

    # A never-rendered row is rendered again by the services that wrote it, never sent as is.
    outbox.set_renderer(app, render_again.render_again)
    from webapp.web import session_cookie

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        # The cookie names a server-side session: signed out, expired or revoked, it is
        # refused even if the cookie itself is a faithful copy.
        return sessions.user_for(user_id, session_cookie.token())


def init_logging(app: Flask) -> None:
    from webapp.core import access_log

    access_log.install()
    if not app.debug and not app.testing:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )


def select_locale() -> str:
    """The user's choice, then the session's, then the browser's, then French."""
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if session.get("locale") in languages:
        return session["locale"]
    return request.accept_languages.best_match(languages) or "fr"


TRANSLATIONS = Path(__file__).parent / "translations"


def compiled_translations(instance_path: str) -> Path:
    """A folder of compiled catalogues no older than their .po files. `make setup` compiles
    them beside the .po; an installation from a fresh clone has none (.mo files are not kept
    in git), so they are compiled into the instance folder, once per change of a .po."""
    sources = sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))
    if all(_is_fresh(po.with_suffix(".mo"), po) for po in sources):
        return TRANSLATIONS
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    target = Path(instance_path) / "translations"
    for po in sources:
        mo = target / po.relative_to(TRANSLATIONS).with_suffix(".mo")
        if _is_fresh(mo, po):
            continue
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parts[-3])
        partial = mo.with_suffix(f".{os.getpid()}.tmp")
        with partial.open("wb") as out:
            write_mo(out, catalog)
        partial.replace(mo)  # atomic: several processes may start at once
    return target


def _is_fresh(mo: Path, po: Path) -> bool:
    return mo.is_file() and mo.stat().st_mtime >= po.stat().st_mtime


def init_locale(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES",
                          str(compiled_translations(app.instance_path)))
    babel.init_app(app, locale_selector=select_locale)


def init_error_handlers(app: Flask) -> None:
    from webapp.web.htmx import render_page

    def handle(error):
        status = getattr(error, "code", None) or 500
        # A 422 from abort() carries the reason written for the user; others use the page's.
        detail = None
        if status == 422 and error.description != type(error).description:
            detail = error.description
        return render_page("errors/page.html", "errors/_error.html", status=status,
                           detail=detail, back_url=_back_url()), status

    for status in (400, 403, 404, 405, 413, 422, 500):
        app.register_error_handler(status, handle)
    app.register_error_handler(CSRFError, handle)

    # The last line, for a view that let a domain refusal through: a missing or hidden object
    # is a 404, a refused action a 403, refused input a 422 with its reason; never a 500.
    from werkzeug import exceptions

    from webapp.core.errors import NotAllowed, NotFound, ValidationFailed

    app.register_error_handler(NotFound, lambda _e: handle(exceptions.NotFound()))
    app.register_error_handler(NotAllowed, lambda _e: handle(exceptions.Forbidden()))

    def refused(error: ValidationFailed):
        db.session.rollback()
        return handle(exceptions.UnprocessableEntity(description=str(error)))

    def invalid_value(error: sa.exc.DataError):
        # A value the database cannot hold that no form caught: a bug to fix, not a crash.
        db.session.rollback()
        app.logger.warning("Value refused by the database: %s", error.orig)
        return handle(exceptions.UnprocessableEntity())

    app.register_error_handler(ValidationFailed, refused)
    app.register_error_handler(sa.exc.DataError, invalid_value)


def init_security(app: Flask) -> None:
    from webapp.web import security

    security.init_app(app)


def init_request_budget(app: Flask) -> None:
    """Each web request renders its emails within one budget (a bulk change renders one email
    per recipient); TEMPLATE_REQUEST_SECONDS overrides the default."""
    from webapp.services import templating

    @app.before_request
    def open_budget():
        templating.open_request_budget(
            app.config.get("TEMPLATE_REQUEST_SECONDS", templating.REQUEST_SECONDS))

    @app.teardown_request
    def close_budget(_error=None):
        templating.close_request_budget()


def _back_url() -> str | None:
    """The page the user came from, for a "go back" link: only a path on this site that
    `safe_next` accepts, and never the page that failed."""
    from urllib.parse import urlsplit

    from webapp.web.redirects import safe_next

    referrer = urlsplit(request.referrer or "")
    if referrer.netloc != request.host or referrer.scheme not in ("http", "https"):
        return None
    path = safe_next(referrer.path + (f"?{referrer.query}" if referrer.query else ""), "")
    return None if not path or path == request.full_path.rstrip("?") else path


def init_template_globals(app: Flask) -> None:
    from flask_babel import get_locale

    from webapp.services import html_policy, labels
    from webapp.web import htmx

    app.jinja_env.filters["datetime_tz"] = datetime_tz
    app.jinja_env.filters["email_preview"] = html_policy.for_preview
    app.jinja_env.globals.update(
        recipient_kind_label=lambda code: labels.label(labels.RECIPIENT_KINDS, code),
        template_name=labels.template_name,
        skip_reason_label=lambda code: labels.label(labels.SKIP_REASONS, code),
        attempt_outcome_label=lambda code: labels.label(labels.ATTEMPT_OUTCOMES, code),
        cancel_reason_label=labels.cancel_reason,
        error_label=labels.error,
        current_locale=lambda: str(get_locale()),
        platform_name=lambda: app.config["PLATFORM_NAME"],
    )
    app.after_request(htmx.add_vary_header)


def init_cli(app: Flask) -> None:
    from webapp import cli

    cli.register(app)


def datetime_tz(value, format: str = "d MMM y, HH:mm") -> str:
    """A stored (naive UTC) time in the platform's time zone, saying which: "11:00 UTC+1".
    Staff and candidates may be elsewhere, and the offset changes twice a year."""
    from flask_babel import format_datetime, to_user_timezone

    if value is None:
        return ""
    offset = to_user_timezone(value).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    label = "UTC" if not minutes else f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")
    return f"{format_datetime(value, format)} {label}"
