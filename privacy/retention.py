"""The purge framework: each provider declares what expires, under which purpose, and how.

A retention rule names a table, the purpose and retention period it applies
(so the record of processing and the purge job read the same number), the
condition that makes a row expired, and what happens to it: deleted, or
de-identified (columns set to NULL) where counts must survive.

Rows go in batches of consecutive primary keys — ``DELETE/UPDATE ... WHERE
expired AND pk IN (SELECT pk ... WHERE expired AND pk > last ORDER BY pk LIMIT
n) RETURNING pk`` — with a commit between batches (by the caller), so memory
stays flat and locks stay short however many rows expire. Every action makes
its row stop matching, so a second run finds nothing.
"""

from __future__ import annotations

import hashlib
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Iterator, Mapping

import sqlalchemy as sa

from core.database import keyset_batches, utcnow
from privacy.purposes import PURPOSES, PurposeRegistry

log = logging.getLogger("tessera.privacy.retention")

HOUSEKEEPING = "housekeeping"
DEFAULT_BATCH_SIZE = 5000
LOCK_NAME = "tessera.privacy.purge"


@dataclass(frozen=True)
class RetentionRule:
    """Rows of TABLE that EXPIRED(cutoff) selects are deleted, or have CLEAR applied."""

    name: str
    table: sa.Table
    expired: Callable[[datetime], sa.ColumnElement]
    purpose: str | None = None
    period: str | None = None
    days: int | None = None
    clear: Mapping[str, object] | None = None
    description: str = ""

    def __post_init__(self):
        if len(self.table.primary_key.columns) != 1:
            raise ValueError(f"retention rule {self.name!r}: the table needs a one-column key")
        if (self.purpose is None) == (self.days is None):
            raise ValueError(f"retention rule {self.name!r}: give a purpose and period, or "
                             "days for housekeeping of data that is not personal")

    @property
    def action(self) -> str:
        return "delete" if self.clear is None else "de-identify"

    def retention_days(self, purposes: PurposeRegistry) -> int:
        """How many days rows are kept, read from the purpose's declared period."""
        if self.purpose is None:
            return self.days
        period = purposes.get(self.purpose).period(self.period)
        if period.days is None or period.action != self.action:
            raise ValueError(f"retention rule {self.name!r} does not match period "
                             f"{self.purpose}/{self.period}")
        return period.days


class RetentionService:
    """Count and apply every rule's retention, as of one fixed moment."""

    def __init__(self, session, rules: list[RetentionRule],
                 purposes: PurposeRegistry = PURPOSES, clock=utcnow):
        self._session = session
        self.rules = list(rules)
        self._purposes = purposes
        self.now = clock()
        for rule in self.rules:
            rule.retention_days(purposes)

    def cutoff(self, rule: RetentionRule) -> datetime:
        """Rows older than this have expired under RULE."""
        return self.now - timedelta(days=rule.retention_days(self._purposes))

    def _pending(self, rule: RetentionRule) -> sa.ColumnElement:
        return rule.expired(self.cutoff(rule))

    def count(self, rule: RetentionRule) -> int:
        """How many rows RULE would act on now."""
        return self._session.scalar(
            sa.select(sa.func.count()).select_from(rule.table).where(self._pending(rule)))

    def plan(self) -> list[tuple[RetentionRule, int]]:
        """Every rule with the number of rows it would act on (the dry run)."""
        return [(rule, self.count(rule)) for rule in self.rules]

    def batches(self, rule: RetentionRule, batch_size: int = DEFAULT_BATCH_SIZE,
                expected: int | None = None) -> Iterator[int]:
        """Apply RULE a batch at a time, yielding rows done; commit after each yield.

        Keyset pagination on the primary key: each batch is one statement on
        the next BATCH_SIZE expired keys after the last one done, which returns
        their keys, so every row is visited once (no re-scanning rows an
        earlier batch de-identified) and the walk ends. The walk along the key
        stops at BATCH_SIZE rows, and the rows acted on are found by key, not
        by matching every expired row again, so each batch costs what its rows
        cost. The condition is checked again on the rows acted on, so a row
        someone else changed meanwhile is left alone.

        EXPECTED, the count at the same cutoff, ends the walk once that many
        rows are done, instead of reading on to the end of the table to find
        none; with 0 no statement is sent.
        """
        if expected == 0:
            return
        key = next(iter(rule.table.primary_key.columns))
        pending = self._pending(rule)
        postgresql = self._session.get_bind(clause=rule.table).dialect.name == "postgresql"

        def apply(after, limit: int) -> list:
            # correlate(None): the subquery reads the table afresh, not the outer row.
            window = (sa.select(key).where(pending, *([key > after] if after is not None else []))
                      .order_by(key).limit(limit).correlate(None))
            # PostgreSQL plans "IN (subquery)" on a small table as a hash join over all of
            # it, every batch; "= ANY(ARRAY(subquery))" runs the walk once, then looks up
            # each key. SQLite looks up the keys of an IN list either way.
            batch = (key == sa.any_(sa.func.array(window.scalar_subquery())) if postgresql
                     else key.in_(window))
            if rule.clear is None:
                statement = sa.delete(rule.table)
            else:
                statement = sa.update(rule.table).values(**rule.clear)
            return self._session.scalars(statement.where(pending, batch).returning(key)).all()

        done = 0
        for rows in keyset_batches(apply, batch_size):
            done += rows
            yield rows
            if expected is not None and done >= expected:
                return


def summarise(results: list[tuple[RetentionRule, int]], purposes: PurposeRegistry = PURPOSES,
              ) -> dict:
    """Per purpose, per rule: the action, the retention and the rows acted on."""
    summary: dict[str, dict] = {}
    for rule, rows in results:
        entry = {"action": rule.action, "retention_days": rule.retention_days(purposes),
                 "rows": rows}
        summary.setdefault(rule.purpose or HOUSEKEEPING, {})[rule.name] = entry
    return summary


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def exclusive_run(engine: sa.Engine, name: str = LOCK_NAME) -> Iterator[bool]:
    """Hold a PostgreSQL advisory lock for the run; yield False if another run holds it.

    On SQLite, BEGIN IMMEDIATE already serialises writers batch by batch, and
    every batch re-selects what is still expired, so concurrent runs are safe.
    """
    if engine.dialect.name != "postgresql":
        yield True
        return
    key = _lock_key(name)
    # A connection of its own: the lock lives as long as the session, not a transaction.
    with engine.connect() as connection:
        acquired = bool(connection.scalar(sa.select(sa.func.pg_try_advisory_lock(key))))
        connection.commit()
        try:
            yield acquired
        finally:
            if acquired:
                connection.scalar(sa.select(sa.func.pg_advisory_unlock(key)))
                connection.commit()
