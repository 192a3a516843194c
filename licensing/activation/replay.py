"""The replay guard: a DPoP proof's jti is spent once, in the database or in Redis.

Every endpoint that checks a proof spends its jti through one ReplayGuard,
whatever the outcome of the request: a refused proof cannot be replayed either.
In the database the spend is part of the request's transaction, so a request
that fails and rolls back spends it again after the rollback (one hook of the
HTTP edge, run by every error handler). Refresh on PostgreSQL spends it inside
its one statement instead (``pending``).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from core.database import db
from core.http import after_rollback
from licensing.activation.models import SpentProof
from licensing.errors import InvalidProof


def jti_hash(jti: str, jkt: str) -> str:
    """A fixed-width key for a proof id, scoped to the key that signed it."""
    return hashlib.sha256(f"{jkt}:{jti}".encode("utf-8")).hexdigest()


_DIALECTS = {"postgresql": postgresql, "sqlite": sqlite}


@functools.cache
def spend_statement(dialect_name: str) -> sa.Insert:
    """INSERT a jti hash unless present, returning it when inserted.

    Built once per dialect: constructing the statement cost more than compiling
    it (which is cached).
    """
    table = SpentProof.__table__
    return (_DIALECTS[dialect_name].insert(table)
            .values(jti_hash=sa.bindparam("key", type_=table.c.jti_hash.type),
                    expires_at=sa.bindparam("until", type_=table.c.expires_at.type))
            .on_conflict_do_nothing().returning(table.c.jti_hash))


class DatabaseReplayCache:
    """Spent proof ids in the default database, shared by every worker and instance."""

    transactional = True

    def __init__(self, session):
        self._session = session

    def spend(self, key: str, expires_at: datetime) -> bool:
        """Record KEY; False when it was already spent."""
        # Core on the session's connection: same transaction, without the ORM's
        # per-statement bookkeeping that a table with no mapped objects never needs.
        connection = self._session.connection()
        inserted = connection.execute(spend_statement(connection.dialect.name),
                                      {"key": key, "until": expires_at})
        return inserted.first() is not None


class RedisReplayCache:
    """Spent proof ids in Redis, expiring by themselves."""

    transactional = False

    def __init__(self, client, prefix: str = "tessera:dpop:"):
        self._client = client
        self._prefix = prefix

    def spend(self, key: str, expires_at: datetime) -> bool:
        """Record KEY; False when it was already spent."""
        ttl = max(1, int((expires_at - datetime.now(expires_at.tzinfo)).total_seconds()) + 1)
        return bool(self._client.set(self._prefix + key, b"1", nx=True, ex=ttl))


@dataclass(frozen=True)
class Spend:
    """A verified proof's jti, to be remembered until its window has passed."""

    key: str
    until: datetime

    @classmethod
    def of(cls, jti: str, jkt: str, now: datetime, window_seconds: int) -> Spend:
        """The spend of proof id JTI signed by key JKT, made at NOW."""
        return cls(jti_hash(jti, jkt), now + timedelta(seconds=2 * window_seconds))


class ReplayGuard:
    """Spend proof ids in STORE (a DatabaseReplayCache or a RedisReplayCache)."""

    def __init__(self, store):
        self._store = store

    def spend(self, spend: Spend) -> None:
        """Spend the jti now; a proof used before is refused (401)."""
        if not self._store.spend(spend.key, spend.until):
            raise InvalidProof("This proof has been used before.")
        if self._store.transactional:
            self._spend_after_rollback(spend)

    def defer(self, spend: Spend) -> tuple[str, datetime] | None:
        """For a statement that spends the jti itself: its (key, until), or None when spent here.

        Only the database can spend inside the statement; Redis spends now.
        """
        if not self._store.transactional:
            self.spend(spend)
            return None
        self._spend_after_rollback(spend)
        return spend.key, spend.until

    @staticmethod
    def _spend_after_rollback(spend: Spend) -> None:
        def spend_again():
            DatabaseReplayCache(db.session).spend(spend.key, spend.until)
            db.session.commit()
        after_rollback(spend_again)
