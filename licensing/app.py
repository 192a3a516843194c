"""The application factory."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from config import load_config


def _engine_options(url: str, config: dict) -> dict:
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
    if url.startswith("postgresql"):
        # Bounded waits: a stuck lock or a slow query turns into a 503, not a hung worker.
        timeouts = (f"-c statement_timeout={config['TESSERA_STATEMENT_TIMEOUT_MS']} "
                    f"-c lock_timeout={config['TESSERA_LOCK_TIMEOUT_MS']}")
        options["connect_args"] = {"options": timeouts, "connect_timeout": 5}
    elif url.startswith("sqlite"):
        options["connect_args"] = {"timeout": 15}
    return options


def _configure_engines(app: Flask) -> None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = _engine_options(url, app.config)
    binds = {}
    for key, bind_url in app.config["SQLALCHEMY_BINDS"].items():
        binds[key] = {"url": bind_url, **_engine_options(bind_url, app.config)}
    app.config["SQLALCHEMY_BINDS"] = binds


def _sqlite_serialises_writers(engine: sa.Engine) -> None:
    """Make every SQLite transaction take the write lock when it begins.

    SQLite has no SELECT ... FOR UPDATE; BEGIN IMMEDIATE gives the same
    guarantee for seat counting (one writer at a time, waiting rather than
    failing), and WAL keeps readers from blocking on it.
    """
    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
        dbapi_connection.execute("PRAGMA busy_timeout=15000")
        # Deleted and overwritten rows are zeroed, not left in free space: an erasure
        # must not survive in the file (the WAL is emptied after erasures and purges).
        dbapi_connection.execute("PRAGMA secure_delete=ON")

    @sa.event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_app(config: dict | None = None) -> Flask:
    """Build the Tessera application; CONFIG overrides the environment's settings."""
    import privacy.cli
    import privacy.views
    import privacy.wiring
    from licensing import (cli, customer_area, http, keys_cli, offline, ops, personal_data,
                           staff, support, views, wiring)
    from licensing.extensions import db, migrate

    app = Flask(__name__, instance_relative_config=False)
    app.config.update(load_config(overrides=config))
    _configure_engines(app)
    if app.config["TESSERA_TRUSTED_PROXIES"] > 0:
        hops = app.config["TESSERA_TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    privacy_parts = privacy.wiring.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()))
    api = http.TesseraApi(app)
    wiring.init_app(app)
    personal_data.register(privacy_parts.providers, privacy_parts.pseudonymizer)
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                _sqlite_serialises_writers(engine)
    api.register_blueprint(views.blp)
    api.register_blueprint(offline.blp)
    api.register_blueprint(support.blp)
    api.register_blueprint(ops.blp)
    customer_area.init_app(api)
    privacy.views.init_app(app, api, staff.staff_actor)
    http.init_app(app)
    cli.init_app(app)
    keys_cli.init_app(app)
    privacy.cli.init_app(app)
    return app


def _migrations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"
