import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from tests.migration_support import empty_database
from webapp import ROOT, create_app
from webapp.models import Application, Campaign, EmailTemplate, Status, Trigger, User


def test_test_config_is_honoured(app):
    assert app.testing
    assert app.config["MAIL_SUPPRESS_SEND"] is False


def test_sqlite_runs_with_wal_foreign_keys_and_busy_timeout(tmp_path, monkeypatch):
    from webapp.extensions import db

    monkeypatch.setenv("MISSIVE_INSTANCE_PATH", str(tmp_path))
    app = create_app({"TESTING": True, "SECRET_KEY": "x"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'missive.db'}"

    with app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000


def test_production_refuses_the_development_key(tmp_path, monkeypatch):
    monkeypatch.setenv("MISSIVE_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"SECRET_KEY": "dev-insecure-key", "TESTING": False})


def test_a_secret_key_is_generated_once_into_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("MISSIVE_INSTANCE_PATH", str(tmp_path))
    first = create_app({"TESTING": False})
    second = create_app({"TESTING": False})
    assert len(first.config["SECRET_KEY"]) == 64
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert (tmp_path / "secret_key").read_text() == first.config["SECRET_KEY"]


def test_flask_environment_variables_override_the_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("MISSIVE_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("FLASK_MAIL_PORT", "2525")
    monkeypatch.setenv("FLASK_SQLALCHEMY_DATABASE_URI", f"sqlite:///{tmp_path}/other.db")
    (tmp_path / "config.py").write_text("MAIL_SERVER = 'relay.example.org'\nMAIL_PORT = 25\n")
    app = create_app()
    assert app.config["MAIL_PORT"] == 2525
    assert app.config["MAIL_SERVER"] == "relay.example.org"
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("other.db")


def _counts(db):
    return {model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (User, Campaign, Status, EmailTemplate, Trigger, Application)}


def test_seed_demo_twice_creates_nothing_twice(app):
    from webapp.extensions import db

    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "manager@missive.example.org" in first.output
    with app.app_context():
        after_first = _counts(db)
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    with app.app_context():
        assert _counts(db) == after_first
        assert after_first["Campaign"] == 2
        # per campaign: the default acknowledgement and two decision emails
        assert after_first["Trigger"] == 6
        campaigns = db.session.scalars(sa.select(Campaign)).all()
        assert sorted(c.closes_at > c.opens_at for c in campaigns) == [True, True]


def test_create_user_command(app):
    from webapp.extensions import db

    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "Boss@Example.org", "--role", "admin",
                                 "--password", "long-enough-1"])
    assert result.exit_code == 0, result.output
    again = runner.invoke(args=["create-user", "boss@example.org", "--role", "manager",
                                "--password", "long-enough-1"])
    assert again.exit_code != 0
    assert "existe déjà" in again.output  # the CLI speaks the platform's default language
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "boss@example.org"))
        assert user.roles == {"admin"}
        assert user.check_password("long-enough-1")
        # Hashed as PASSWORD_HASH_METHOD says (the tests' cheaper scrypt)...
        method = app.config["PASSWORD_HASH_METHOD"]
        assert user.password_hash.startswith(f"{method}$")


def test_passwords_are_hashed_by_default_with_werkzeugs_full_cost_scrypt(tmp_path, monkeypatch):
    # ...and everywhere else with werkzeug's default, scrypt at full cost.
    monkeypatch.setenv("MISSIVE_INSTANCE_PATH", str(tmp_path))
    app = create_app({"TESTING": True, "SECRET_KEY": "x",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missive.db"})
    from webapp.services.users import hash_method

    with app.app_context():
        assert hash_method() == "scrypt"
    user = User()
    user.set_password("long-enough-1", "scrypt")
    assert user.password_hash.startswith("scrypt:32768:8:1$")


def _schema(url: str) -> dict:
    engine = sa.create_engine(url)
    inspector = sa.inspect(engine)
    schema = {}
    for table in inspector.get_table_names():
        if table == "alembic_version":
            continue
        schema[table] = {
            "columns": sorted(c["name"] for c in inspector.get_columns(table)),
            "unique": sorted(tuple(u["column_names"])
                             for u in inspector.get_unique_constraints(table)),
            "indexes": sorted(i["name"] for i in inspector.get_indexes(table)),
            "fks": sorted((tuple(f["constrained_columns"]), f["referred_table"])
                          for f in inspector.get_foreign_keys(table)),
        }
    engine.dispose()
    return schema


def test_migrations_build_the_same_schema_as_the_models(database_url, tmp_path):
    """`flask db upgrade` on an empty database gives the schema the models (and tests) use."""
    migrated = empty_database(database_url, tmp_path)
    env = dict(os.environ, FLASK_SQLALCHEMY_DATABASE_URI=migrated,
               MISSIVE_INSTANCE_PATH=str(tmp_path / "instance"))
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert _schema(migrated) == _schema(database_url)
    engine = sa.create_engine(migrated)
    with engine.connect() as conn:
        codes = conn.execute(sa.text("SELECT code FROM statuses WHERE is_system")).scalars()
        assert sorted(codes) == ["draft", "submitted"]
    engine.dispose()
