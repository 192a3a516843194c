"""The SQLAlchemy handle and column types shared by every package (privacy is the lowest layer)."""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
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
