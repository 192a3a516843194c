"""The database handle, column types, identifiers and engine set-up every package stands on."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone

import sqlalchemy as sa
from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData

# Named constraints, so migrations are stable and IntegrityErrors can be told apart.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate(compare_type=True, render_as_batch=True)


def utcnow() -> datetime:
    """Now, timezone-aware UTC."""
    return datetime.now(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp stored as UTC and always read back timezone-aware.

    SQLite keeps no zone; without this, reads come back naive and compare
    wrongly against aware times.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def rfc3339(value: datetime | None) -> str | None:
    """Format a UTC time as RFC 3339 with a Z suffix."""
    if value is None:
        return None
    # isoformat is several times cheaper than strftime, which counts in bulk exports.
    return value.astimezone(timezone.utc).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def truncate_sqlite_wal(engines) -> None:
    """Fold each SQLite write-ahead log into its database and empty it.

    Old page images (an erased row's, say) stay in the WAL file until its
    frames are reused; after an erasure or a purge they should not. Best
    effort: with readers still on old snapshots the log is only partly reset.
    """
    for engine in engines:
        if engine.dialect.name != "sqlite":
            continue
        connection = engine.raw_connection()
        try:
            connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            connection.close()


def new_id(prefix: str) -> str:
    """A public identifier: PREFIX_ + 128 random bits in lowercase base32."""
    return f"{prefix}_" + base64.b32encode(secrets.token_bytes(16)).decode().rstrip("=").lower()


def one_of(column: str, values: tuple[str, ...]) -> str:
    """SQL for a check constraint: COLUMN holds one of VALUES."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


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


def configure_engines(app: Flask) -> None:
    """Give the default database and every bind the options its dialect needs."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = _engine_options(url, app.config)
    binds = {}
    for key, bind_url in app.config["SQLALCHEMY_BINDS"].items():
        binds[key] = {"url": bind_url, **_engine_options(bind_url, app.config)}
    app.config["SQLALCHEMY_BINDS"] = binds


def sqlite_serialises_writers(engine: sa.Engine) -> None:
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


def ping_when_idle(engine: sa.Engine, idle_seconds: float) -> None:
    """Check a pooled connection before use only when it has sat idle for IDLE_SECONDS.

    pool_pre_ping costs a round trip on every checkout, that is on every
    request; a connection that served a request a moment ago needs none. One
    left idle (across a database restart, or past a firewall's timeout) is
    pinged and, if dead, replaced before the request sees it. A connection
    that dies mid-request still turns into a 503 and invalidates the pool.
    """
    @sa.event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy):
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool discards this connection and checks out a fresh one.
            raise sa.exc.DisconnectionError("idle connection is dead") from exc


def keyset_batches(work: Callable[[object, int], list], batch_size: int) -> Iterator[int]:
    """Walk a table in primary-key order a batch at a time, yielding rows done per batch.

    WORK(after, limit) handles up to LIMIT rows whose key is greater than AFTER
    (None: from the first) and returns their keys. Keyset pagination visits
    every row once however the rows change, and the walk ends at the first
    short batch. The caller commits after each yield, so memory stays flat.
    """
    last = None
    while True:
        keys = work(last, batch_size)
        yield len(keys)
        if len(keys) < batch_size:
            return
        last = max(keys)
