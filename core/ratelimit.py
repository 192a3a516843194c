"""Attempt limits on credentials and codes, counted in a `limits` storage.

The views call `RateLimitService` at the point the contract puts 429 (after
body validation, before any credential is checked), so limits are not
decorators. That is why the service is built on `limits` (the library that
counts for Flask-Limiter) and not on Flask-Limiter itself: Flask-Limiter
installs a hook that runs on every request, the refresh hot path included,
to apply route limits this service does not have.

The counts live in one store every worker and instance shares, so "30 per
minute" means thirty, not thirty per worker: Redis, or a database table
(`DatabaseStorage`: one atomic upsert per count, a fixed window). The
embedded default counts in a SQLite file of its own under the instance
folder. When the store does not answer, each process falls back to counting
in its own memory rather than refusing every customer (see the README).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import math
import sqlite3
import threading
import time
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter, RateLimiter
from redis.exceptions import RedisError
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from core import errors
from core.database import ping_when_idle

log = logging.getLogger("tessera.ratelimit")

# Rule name -> config key holding its limit ("N per minute|hour").
RULES = {
    "address-attempts": "TESSERA_RATELIMIT_ADDRESS_ATTEMPTS",
    "account-attempts": "TESSERA_RATELIMIT_ACCOUNT_ATTEMPTS",
    "account-failures": "TESSERA_RATELIMIT_ACCOUNT_FAILURES",
    "code-failures": "TESSERA_RATELIMIT_CODE_FAILURES",
    "staff-failures": "TESSERA_RATELIMIT_STAFF_FAILURES",
}
STORAGE_ERRORS = (StorageError, RedisError, OSError, sa.exc.SQLAlchemyError)


@dataclass(frozen=True)
class Counter:
    """One limit applied to one subject (an address or a username)."""

    rule: str
    subject: str


class RateLimitService:
    """Count attempts and failures; refuse with 429 once a limit is spent."""

    def __init__(self, primary: RateLimiter, limits: dict[str, RateLimitItem], secret: bytes,
                 *, retry_primary_seconds: float = 30.0, clock=time.monotonic):
        self._primary = primary
        self._fallback = MovingWindowRateLimiter(MemoryStorage())
        self._limits = limits
        self._secret = secret
        self._retry_primary_seconds = retry_primary_seconds
        self._clock = clock
        self._primary_down_until = 0.0
        self._lock = threading.Lock()

    def guard(self, *, hit: list[Counter], test: list[Counter] | None = None) -> None:
        """Refuse if any counter is spent; then count one attempt on each of HIT."""
        counters = [*hit, *(test or [])]
        counted = self._guard_together(hit, counters)
        if counted is None:
            spent = [c for c in counters if not self._call("test", c)]
            if spent:
                raise errors.RateLimited(self._retry_after(spent))
            counted = {c: self._call("hit", c) for c in hit}
        over = [c for c in hit if not counted[c]]
        if over:
            raise errors.RateLimited(self._retry_after(over))

    def failed(self, *counters: Counter) -> None:
        """Count one failure on each counter (a wrong password, an unknown code)."""
        for counter in counters:
            self._call("hit", counter)

    def count(self, counter: Counter) -> bool:
        """Count one event on COUNTER; False once its limit is passed (nothing is refused)."""
        return bool(self._call("hit", counter))

    def _retry_after(self, counters: list[Counter]) -> int:
        now = time.time()
        resets = [self._call("get_window_stats", c).reset_time for c in counters]
        return max(1, math.ceil(max(resets) - now))

    def _guard_together(self, hit: list[Counter],
                        counters: list[Counter]) -> dict[Counter, bool] | None:
        """A database store's guard in one statement: {hit counter: within its limit}.

        Refuses (429) when a counter is spent, as the test of each counter would;
        None when the store is not a database or has failed, and when a window
        ended meanwhile: then the counters are tested and hit one by one.
        """
        storage = getattr(self._primary, "storage", None)
        if (not isinstance(self._primary, FixedWindowRateLimiter)
                or not isinstance(storage, DatabaseStorage)
                or self._clock() < self._primary_down_until):
            return None
        keys = {c: self._limits[c.rule].key_for("tessera", c.rule, self._subject_key(c))
                for c in counters}
        try:
            counts = storage.incr_unless_spent(
                [(keys[c], self._limits[c.rule].amount) for c in counters],
                [(keys[c], self._limits[c.rule].get_expiry()) for c in hit])
            if counts is None:
                live = storage.get_many(list(keys.values()))
        except STORAGE_ERRORS as exc:
            self._primary_failed(exc)
            return None
        if counts is not None:
            return {c: counts[keys[c]] <= self._limits[c.rule].amount for c in hit}
        spent = [c for c in counters if live.get(keys[c], 0) >= self._limits[c.rule].amount]
        if not spent:
            return None
        raise errors.RateLimited(self._retry_after(spent))

    def _subject_key(self, counter: Counter) -> str:
        # Subjects are keyed by HMAC so the storage holds no usernames or addresses.
        return hmac.new(self._secret, counter.subject.encode("utf-8"), hashlib.sha256).hexdigest()

    def _call(self, method: str, counter: Counter):
        item = self._limits[counter.rule]
        key = self._subject_key(counter)
        if self._clock() >= self._primary_down_until:
            try:
                return getattr(self._primary, method)(item, "tessera", counter.rule, key)
            except STORAGE_ERRORS as exc:
                self._primary_failed(exc)
        return getattr(self._fallback, method)(item, "tessera", counter.rule, key)

    def _primary_failed(self, exc: Exception) -> None:
        with self._lock:
            self._primary_down_until = self._clock() + self._retry_primary_seconds
        log.warning("rate-limit storage unavailable (%s); counting in process memory",
                    type(exc).__name__)


_counters = sa.Table(
    "ratelimit_counters", sa.MetaData(),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    # Epoch seconds: the window ends here, and the next hit starts a new one.
    sa.Column("expires_at", sa.Float, nullable=False, index=True),
)
_UPSERT = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


# One in this many hits also deletes counters whose window has ended.
_SWEEP_EVERY = 500
# A counter connection idle this long is pinged before use (a restarted server).
IDLE_PING_SECONDS = 1.0


def _prefer_wal(dbapi_connection, _record) -> None:
    """Readers never block the writer; the workers' upserts take turns."""
    try:
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
    except sqlite3.OperationalError:
        pass  # another process is switching the file to WAL at this moment


def _increment(dialect: str):
    """The upsert of one hit, built once: a window that has ended starts again at AMOUNT."""
    table = _counters
    amount = sa.bindparam("amount", type_=sa.Integer)
    until = sa.bindparam("until", type_=sa.Float)
    expired = table.c.expires_at <= sa.bindparam("now", type_=sa.Float)
    statement = _UPSERT[dialect](table).values(key=sa.bindparam("counter", type_=sa.String),
                                               count=amount, expires_at=until)
    return statement.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={"count": sa.case((expired, amount), else_=table.c.count + amount),
              "expires_at": sa.case((expired, until), else_=table.c.expires_at)},
    ).returning(table.c.count)


@functools.cache
def _guarded_increment(dialect: str, limits: int, hits: int):
    """Upsert HITS counters only when none of LIMITS counters is spent (one statement)."""
    table = _counters
    now = sa.bindparam("now", type_=sa.Float)
    spent = (sa.select(sa.literal(1)).select_from(table)
             .where(table.c.expires_at > now, sa.or_(*(
                 sa.and_(table.c.key == sa.bindparam(f"limited_{n}", type_=sa.String),
                         table.c.count >= sa.bindparam(f"limit_{n}", type_=sa.Integer))
                 for n in range(limits))))
             .correlate(None).exists())
    rows = [sa.select(sa.bindparam(f"hit_{n}", type_=sa.String).label("key"),
                      sa.bindparam("amount", type_=sa.Integer).label("count"),
                      sa.bindparam(f"until_{n}", type_=sa.Float).label("expires_at"))
            .where(~spent) for n in range(hits)]
    source = rows[0] if hits == 1 else sa.union_all(*rows)
    statement = _UPSERT[dialect](table).from_select(["key", "count", "expires_at"], source)
    expired = table.c.expires_at <= now
    return statement.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={"count": sa.case((expired, statement.excluded.count),
                               else_=table.c.count + statement.excluded.count),
              "expires_at": sa.case((expired, statement.excluded.expires_at),
                                    else_=table.c.expires_at)},
    ).returning(table.c.key, table.c.count)


_LIVE = (sa.select(_counters.c.count, _counters.c.expires_at)
         .where(_counters.c.key == sa.bindparam("counter"),
                _counters.c.expires_at > sa.bindparam("now", type_=sa.Float)))
_LIVE_MANY = (sa.select(_counters.c.key, _counters.c.count)
              .where(_counters.c.key.in_(sa.bindparam("counters", expanding=True)),
                     _counters.c.expires_at > sa.bindparam("now", type_=sa.Float)))


class DatabaseStorage(Storage):
    """Fixed-window counters in a table of their own, shared by every process using the URL.

    Each hit is one INSERT ... ON CONFLICT DO UPDATE ... RETURNING, atomic on
    SQLite and PostgreSQL, on a connection of its own: a count survives the
    request's rollback and never waits for the request's own write lock. The
    table holds no migration-managed data and is created on first use.

    Every statement is atomic by itself, so each runs in autocommit mode: one
    round trip, where BEGIN, the statement and COMMIT (or ROLLBACK) were three.
    An activation counts three times, and these were more round trips than its
    own work. A pooled connection is pinged only after sitting idle (as the
    service's own pool is), not on every checkout.
    """

    STORAGE_SCHEME = None

    def __init__(self, url: str, clock=time.time):
        super().__init__(url, wrap_exceptions=False)
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        sqlite_file = url.startswith("sqlite")
        connect_args = {"timeout": 15} if sqlite_file else {"connect_timeout": 2}
        self._engine = sa.create_engine(url, connect_args=connect_args, hide_parameters=True,
                                        isolation_level="AUTOCOMMIT")
        if sqlite_file:
            sa.event.listen(self._engine, "connect", _prefer_wal)
        ping_when_idle(self._engine, IDLE_PING_SECONDS)
        self._increment = _increment(self._engine.dialect.name)
        self._clock = clock
        self._hits = 0
        self._created = False
        self._lock = threading.Lock()

    @property
    def base_exceptions(self):
        return sa.exc.SQLAlchemyError

    def _ensure_table(self) -> None:
        # Every worker (and each of its threads) may get here first at once: IF NOT EXISTS
        # lets them all through, where a check-then-create would fail all but one.
        if self._created:
            return
        with self._lock:
            if not self._created:
                with self._engine.begin() as connection:
                    connection.execute(CreateTable(_counters, if_not_exists=True))
                    for index in _counters.indexes:
                        connection.execute(CreateIndex(index, if_not_exists=True))
                self._created = True

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        self._ensure_table()
        now = self._clock()
        parameters = {"counter": key, "amount": amount, "now": now, "until": now + expiry}
        with self._engine.connect() as connection:
            count = connection.execute(self._increment, parameters).scalar_one()
            self._hits += 1
            if self._hits % _SWEEP_EVERY == 0:
                connection.execute(sa.delete(_counters).where(_counters.c.expires_at <= now))
        return count

    def _live(self, key: str):
        self._ensure_table()
        with self._engine.connect() as connection:
            return connection.execute(_LIVE, {"counter": key, "now": self._clock()}).first()

    def get(self, key: str) -> int:
        row = self._live(key)
        return row.count if row else 0

    def incr_unless_spent(self, limits: list[tuple[str, int]],
                          hits: list[tuple[str, int]]) -> dict[str, int] | None:
        """Count one hit on each of HITS (key, expiry), in one statement, unless a key of
        LIMITS (key, limit) has reached its limit in its live window: then None.

        Returns the hit keys' counts after the hit.
        """
        self._ensure_table()
        now = self._clock()
        parameters = {"now": now, "amount": 1}
        for n, (key, limit) in enumerate(limits):
            parameters[f"limited_{n}"], parameters[f"limit_{n}"] = key, limit
        for n, (key, expiry) in enumerate(hits):
            parameters[f"hit_{n}"], parameters[f"until_{n}"] = key, now + expiry
        statement = _guarded_increment(self._engine.dialect.name, len(limits), len(hits))
        with self._engine.connect() as connection:
            counts = {row.key: row.count for row in connection.execute(statement, parameters)}
            self._hits += len(counts)
            if self._hits % _SWEEP_EVERY < len(counts):
                connection.execute(sa.delete(_counters).where(_counters.c.expires_at <= now))
        return counts if len(counts) == len(hits) else None

    def get_many(self, keys: list[str]) -> dict[str, int]:
        """The live counts of KEYS (absent: none counted in the current window)."""
        self._ensure_table()
        with self._engine.connect() as connection:
            rows = connection.execute(_LIVE_MANY, {"counters": keys, "now": self._clock()})
            return {row.key: row.count for row in rows}

    def get_expiry(self, key: str) -> float:
        row = self._live(key)
        return row.expires_at if row else self._clock()

    def check(self) -> bool:
        try:
            with self._engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
            return True
        except sa.exc.SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        self._ensure_table()
        with self._engine.begin() as connection:
            return connection.execute(sa.delete(_counters)).rowcount

    def clear(self, key: str) -> None:
        self._ensure_table()
        with self._engine.begin() as connection:
            connection.execute(sa.delete(_counters).where(_counters.c.key == key))

    def dispose(self) -> None:
        """Close the storage's connections."""
        self._engine.dispose()


def limiter_for(uri: str) -> RateLimiter:
    """The rate limiter over the storage URI names: Redis or memory (moving window), or a
    database URL (fixed window)."""
    if uri.startswith(("sqlite", "postgresql")):
        return FixedWindowRateLimiter(DatabaseStorage(uri))
    options = {}
    if not uri.startswith("memory"):
        # A dead Redis must cost a request about a second, not a worker timeout.
        options = {"socket_connect_timeout": 1, "socket_timeout": 1}
    return MovingWindowRateLimiter(storage_from_string(uri, **options))


def init_app(app: Flask) -> RateLimitService:
    """Build the app's rate-limit service on the configured storage."""
    config = app.config
    limits = {rule: parse(config[key]) for rule, key in RULES.items()}
    # Invalid codes per address prefix and hour past which code guessing is recorded.
    limits["code-guesses"] = parse(f"{config['TESSERA_CODE_GUESS_THRESHOLD']} per hour")
    secret = hashlib.sha256(b"tessera-ratelimit:" + config["SECRET_KEY"].encode()).digest()
    return RateLimitService(limiter_for(config["TESSERA_RATELIMIT_STORAGE_URI"]), limits, secret)
