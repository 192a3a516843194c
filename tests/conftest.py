"""Fixtures: one migrated database per run (SQLite, or PostgreSQL when
TESSERA_TEST_DATABASE_URL names a server), emptied after every test."""

from __future__ import annotations

import os
import secrets
from urllib.parse import urlsplit, urlunsplit

import pytest
import sqlalchemy as sa

from core.database import db
from licensing import create_app
from licensing.admin.services import AdminService
from licensing.wiring import components

POSTGRES_URL = os.environ.get("TESSERA_TEST_DATABASE_URL")


def pytest_configure(config):
    # Every warning is an error, except one: a pooled psycopg connection whose
    # engine is garbage-collected at an arbitrary later test reports itself from
    # a finalizer. Tests dispose their engines; this keeps a missed one from
    # failing whichever unrelated test the collector happens to run in.
    config.addinivalue_line(
        "filterwarnings", r"ignore:<psycopg\.Connection object at .* was deleted while still open")


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith(
        "postgresql://") else url


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory):
    """URLs of the default and compliance databases for this run."""
    if not POSTGRES_URL:
        folder = tmp_path_factory.mktemp("db")
        yield {"default": f"sqlite:///{folder / 'tessera.sqlite3'}",
               "compliance": f"sqlite:///{folder / 'compliance.sqlite3'}"}
        return
    # Fresh databases per run: parallel runs on one server never meet.
    base = _psycopg_url(POSTGRES_URL)
    name = f"tessera_t_{secrets.token_hex(4)}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for suffix in ("", "_c"):
            connection.execute(sa.text(f'CREATE DATABASE "{name}{suffix}"'))
    yield {"default": _with_database(base, name), "compliance": _with_database(base, name + "_c")}
    with admin.connect() as connection:
        for suffix in ("", "_c"):
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}{suffix}" WITH (FORCE)'))
    admin.dispose()


def make_config(database_urls, tmp_path, **extra) -> dict:
    return {"TESSERA_ENV": "testing", "TESSERA_INSTANCE_DIR": str(tmp_path / "instance"),
            "SQLALCHEMY_DATABASE_URI": database_urls["default"],
            "SQLALCHEMY_BINDS": {"compliance": database_urls["compliance"]}, **extra}


@pytest.fixture(scope="session")
def migrated(database_urls, tmp_path_factory):
    """Run every migration once, as production would."""
    return migrate_to_head(database_urls, tmp_path_factory.mktemp("migrate"))


def migrate_to_head(database_urls: dict, folder) -> dict:
    """Upgrade both databases to the newest revision; no connection is left open."""
    from flask_migrate import upgrade

    app = create_app(make_config(database_urls, folder))
    with app.app_context():
        upgrade()
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    return database_urls


def _empty_tables(app) -> None:
    with app.app_context():
        db.session.remove()
        for bind_key, engine in db.engines.items():
            # Each bind's tables are in that bind's metadata (the compliance store's too).
            tables = list(reversed(db.metadatas[bind_key].sorted_tables))
            try:
                with engine.begin() as connection:
                    for table in tables:
                        connection.execute(table.delete())
            except sa.exc.OperationalError:
                pass  # a test pointed this bind at a database that is down on purpose
            engine.dispose()


@pytest.fixture
def app_config(migrated, tmp_path):
    """Config overrides a test may extend before asking for `app`."""
    return make_config(migrated, tmp_path)


@pytest.fixture
def app(app_config):
    application = create_app(app_config)
    yield application
    _empty_tables(application)


@pytest.fixture
def app_factory(app_config):
    """Build extra apps with changed settings; their rows and connections go after the test."""
    made = []

    def build(**extra):
        application = create_app({**app_config, **extra})
        made.append(application)
        return application
    yield build
    for application in made:
        _empty_tables(application)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def admin(app):
    """An AdminService in an app context; its work is committed."""
    with app.app_context():
        parts = components()
        yield AdminService(db.session, parts.pseudonymizer, parts.passwords)
        db.session.commit()


class World:
    """A product, an account and its licenses, created through AdminService."""

    password = "correct horse battery staple"

    def __init__(self, app):
        self.app = app

    def _admin(self) -> AdminService:
        parts = components()
        return AdminService(db.session, parts.pseudonymizer, parts.passwords)

    def setup(self, seats: int = 2, kind: str = "subscription", username: str = "alice",
              product: str = "numflo", **license_args) -> str:
        with self.app.app_context():
            service = self._admin()
            if not db.session.scalar(sa.text("SELECT count(*) FROM products WHERE code = :c"),
                                     {"c": product}):
                service.create_product(product, product.upper())
            if not db.session.scalar(sa.text("SELECT count(*) FROM accounts WHERE username = :u"),
                                     {"u": username}):
                service.create_account(username, self.password, f"{username}@example.com",
                                       name=username.title(), company="Example NV")
            license = service.issue_license(username, product, seats=seats, kind=kind,
                                            entitlements=["solver", "mesher"], **license_args)
            db.session.commit()
            return license.id

    def code(self, license_id: str, days: int = 30) -> str:
        with self.app.app_context():
            code, _ = self._admin().issue_code(license_id, days)
            db.session.commit()
            return code

    def credentials(self, username: str = "alice") -> dict:
        return {"username": username, "password": self.password}


@pytest.fixture
def world(app):
    return World(app)
