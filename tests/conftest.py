"""The test harness: an app per test on a fresh database (SQLite, and PostgreSQL when
TEST_POSTGRES_URL is set), sign-in helpers per role, a real SMTP server, a real browser."""

import copy
import os
import shutil
import uuid
from datetime import timedelta

import jinja2
import pytest
import sqlalchemy as sa

from tests import factories, outbox_boundary
from tests.databases import drop_database
from tests.smtp_server import SMTPServer
from webapp import create_app
from webapp.extensions import db as _db
from webapp.models import Base, Role
from webapp.outbox import admin as outbox_admin

pytest_plugins = ["tests.browser_fixtures"]

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "")
DATABASES = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
PASSWORD = factories.PASSWORD


def pytest_collection_modifyitems(items):
    """The tests that start processes first: parallel workers share the rest out around them
    instead of waiting at the end for the last long one."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def outbox_writes_only_in_the_outbox():
    """Fail a test in which the app wrote an outbox row from outside `webapp/outbox/`."""
    outbox_boundary.install()
    outbox_boundary.violations.clear()
    yield
    found, outbox_boundary.violations[:] = list(outbox_boundary.violations), []
    assert not found, "outbox rows written outside webapp/outbox/: " + "; ".join(found[:5])


@pytest.fixture(scope="session")
def smtp_server():
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def smtp(smtp_server):
    """The session's SMTP server, emptied and answering 250 to everything."""
    smtp_server.reset()
    if smtp_server.controller is None:
        smtp_server.start()
    yield smtp_server
    smtp_server.reset()


@pytest.fixture(scope="session")
def postgres_database():
    """A throwaway database on the PostgreSQL server, with the schema, for this test session."""
    if not POSTGRES_URL:
        yield None
        return
    name = f"missive_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(POSTGRES_URL).set(database=name)
    engine = sa.create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    yield url.render_as_string(hide_password=False)
    drop_database(admin, name)
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_schema(tmp_path_factory):
    """An SQLite database with the schema and the default statuses, made once per test process:
    each test gets a copy of the file, which costs far less than creating the tables again."""
    path = tmp_path_factory.mktemp("schema") / "missive.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    engine.dispose()
    # The default statuses every app adds at its start, added once here.
    os.environ["MISSIVE_INSTANCE_PATH"] = str(path.parent / "instance")
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        factories.seed_statuses()
        _db.session.remove()
        _db.engine.dispose()  # the last connection closed: the WAL is checkpointed into the file
    assert not path.with_name("missive.db-wal").exists()
    return path


@pytest.fixture(scope="session")
def sqlite_path(tmp_path_factory):
    """Where this test process keeps its SQLite database: always the same file, so that the
    apps kept between tests (`make_app`) stay pointed at it."""
    return tmp_path_factory.mktemp("database") / "missive.db"


@pytest.fixture(params=DATABASES)
def database_url(request):
    """A fresh database with the schema: a new copy of the SQLite file (statuses included) in
    this process's place, or truncated PostgreSQL (each app adds the default statuses it
    lacks)."""
    if request.param == "sqlite":
        path = request.getfixturevalue("sqlite_path")
        for leftover in (path, path.with_name(path.name + "-wal"),
                         path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)  # a connection left open keeps the old file
        shutil.copyfile(request.getfixturevalue("sqlite_schema"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_database")
    if url is None:  # a PostgreSQL-only test, run where no server is configured
        pytest.skip("TEST_POSTGRES_URL is not set")
    engine = sa.create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


class SharedTemplates(jinja2.BytecodeCache):
    """Compiled page templates kept in memory for every app of the test process: each test
    builds its own app, which would otherwise compile every template it renders again. Jinja
    checks each entry against its template's source, as with its own caches."""

    def __init__(self):
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self.compiled.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


SHARED_TEMPLATES = SharedTemplates()


class AppShelf:
    """Apps kept between the tests of a process, per configuration: building one costs far
    more than a test's requests (Flask compiles every URL rule, SQLAlchemy every statement
    anew for each engine). A kept app is handed out only as it was built: its config restored,
    the extensions it gained since dropped, a fresh instance folder; one whose URL rules,
    handlers or WSGI stack a test changed is not kept. Each test still starts from a fresh
    database (`database_url`)."""

    LIMIT = 24  # apps kept, the least recently used dropped first

    def __init__(self):
        self.kept: dict[str, list] = {}  # key -> [(app, config, extensions, fingerprint)]

    @staticmethod
    def fingerprint(app) -> tuple:
        return (app.wsgi_app, app.session_interface, len(app.view_functions),
                len(list(app.url_map.iter_rules())),
                *(_registry(getattr(app, name)) for name in (
                    "before_request_funcs", "after_request_funcs", "teardown_request_funcs",
                    "teardown_appcontext_funcs", "error_handler_spec",
                    "template_context_processors", "url_value_preprocessors",
                    "url_default_functions")),
                repr(sorted(app.jinja_env.globals)), repr(sorted(app.jinja_env.filters)))

    def take(self, key: str, instance_path: str):
        shelf = self.kept.get(key)
        if not shelf:
            return None
        app, config, extensions, _ = entry = shelf.pop()
        if not shelf:
            del self.kept[key]
        app.config.clear()
        app.config.update(copy.deepcopy(config))
        for name in set(app.extensions) - extensions:
            del app.extensions[name]
        app.instance_path = instance_path
        os.makedirs(instance_path, exist_ok=True)
        return entry

    def keep(self, key: str, entry) -> None:
        app = entry[0]
        with app.app_context():
            _db.session.remove()
            _db.engine.dispose()  # no connection left on a file the next test replaces
        if self.fingerprint(app) != entry[3]:
            return
        self.kept.setdefault(key, []).append(entry)
        self.kept[key] = self.kept.pop(key)  # the most recently used last
        while sum(len(apps) for apps in self.kept.values()) > self.LIMIT:
            oldest = next(iter(self.kept))
            self.kept[oldest].pop(0)
            if not self.kept[oldest]:
                del self.kept[oldest]


def _registry(value) -> str:
    """A registry of handlers as text, without the empty entries Flask's defaultdicts gain
    when they are only looked up, at any depth: a request to a blueprint adds
    {blueprint: {None: {}}} to the error handlers."""
    if isinstance(value, dict):
        entries = ((repr(k), _registry(v)) for k, v in value.items())
        return repr(sorted((k, v) for k, v in entries if v != "[]"))
    return repr(value)


@pytest.fixture(scope="session")
def app_shelf():
    return AppShelf()


@pytest.fixture
def make_app(database_url, smtp_server, tmp_path, app_shelf):
    """An app on the test database; keyword arguments override the test config. An app built
    earlier with the same config is reused (see `AppShelf`); `make_app.unshared(...)` builds
    one for this test alone (for a test that adds routes to it)."""
    in_use = []
    instance_path = str(tmp_path / "instance")

    def config_for(overrides: dict) -> dict:
        config = {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "WTF_CSRF_ENABLED": False,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": smtp_server.port,
            "MAIL_SUPPRESS_SEND": False,
            "MAIL_TIMEOUT_SECONDS": 5,
            # Werkzeug's scrypt at a 32nd of its cost: the same code path, a millisecond a hash.
            "PASSWORD_HASH_METHOD": factories.PASSWORD_HASH_METHOD,
            "SERVER_NAME": None,
            "BASE_URL": "http://missive.test",
        }
        config.update(overrides)
        return config

    def build(config: dict):
        os.environ["MISSIVE_INSTANCE_PATH"] = instance_path
        app = create_app(config)
        app.jinja_env.bytecode_cache = SHARED_TEMPLATES
        return app

    def ready(app):
        with app.app_context():
            factories.seed_statuses()
        return app

    def make(**overrides):
        config = config_for(overrides)
        key = repr(sorted(config.items()))
        # Another app of the same test with the same config is a distinct app, as in
        # production two processes are.
        entry = app_shelf.take(key, instance_path)
        if entry is None:
            app = build(config)
            entry = (app, copy.deepcopy(dict(app.config)), set(app.extensions),
                     AppShelf.fingerprint(app))
        os.environ["MISSIVE_INSTANCE_PATH"] = instance_path
        in_use.append((key, entry))
        return ready(entry[0])

    def unshared(**overrides):
        app = build(config_for(overrides))
        in_use.append((None, (app,)))
        return ready(app)

    make.unshared = unshared
    outbox_admin.forget_counts()  # cached per database address, which the next test shares
    yield make
    for key, entry in in_use:
        if key is None:
            with entry[0].app_context():
                _db.session.remove()
                _db.engine.dispose()
        else:
            app_shelf.keep(key, entry)
    outbox_admin.forget_counts()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def db(app):
    """An app context for tests that work with the database directly."""
    with app.app_context():
        yield _db
        _db.session.rollback()


@pytest.fixture
def client(app):
    """A test client whose browser asks for English (the platform's fallback is French)."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def users(app):
    """One user per role: users['admin'], users['manager'], ... (password: PASSWORD)."""
    with app.app_context():
        made = {role.value: factories.make_user(role=role).id for role in Role}
        _db.session.commit()
        return made


class Auth:
    def __init__(self, client, app):
        self.client = client
        self.app = app

    def login(self, email: str, password: str = PASSWORD):
        return self.client.post("/auth/login", data={"email": email, "password": password})

    def login_as(self, role: str):
        return self.login(f"{role}@example.org")

    def logout(self):
        return self.client.post("/auth/logout")


@pytest.fixture
def auth(client, app, users):
    return Auth(client, app)


@pytest.fixture
def htmx_headers():
    return {"HX-Request": "true"}


@pytest.fixture
def later():
    """A helper: naive UTC datetimes relative to now."""
    from webapp.core import clock

    return lambda **kw: clock.now() + timedelta(**kw)
