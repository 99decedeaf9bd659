"""The test harness: an app per test on a fresh database (SQLite, and PostgreSQL when
TEST_POSTGRES_URL is set), sign-in helpers per role, a real SMTP server, a real browser."""

import os
import shutil
import uuid
from datetime import timedelta

import jinja2
import pytest
import sqlalchemy as sa

from tests import factories, outbox_boundary
from tests.smtp_server import SMTPServer
from webapp import create_app
from webapp.extensions import db as _db
from webapp.models import Base, Role

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
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
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


@pytest.fixture(params=DATABASES)
def database_url(request, tmp_path):
    """A fresh database with the schema: a copy of the SQLite file (statuses included), or
    truncated PostgreSQL (each app adds the default statuses it lacks)."""
    if request.param == "sqlite":
        path = tmp_path / "missive.db"
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


@pytest.fixture
def make_app(database_url, smtp_server, tmp_path):
    """Build an app on the test database; keyword arguments override the test config."""
    apps = []

    def make(**overrides):
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
        os.environ["MISSIVE_INSTANCE_PATH"] = str(tmp_path / "instance")
        app = create_app(config)
        app.jinja_env.bytecode_cache = SHARED_TEMPLATES
        with app.app_context():
            factories.seed_statuses()
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            _db.session.remove()
            _db.engine.dispose()


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
