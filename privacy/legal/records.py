"""Compliance records: observe (an upsert), list, hold and close.

A signal seen again adds to the open record of the same kind and subject —
one ``INSERT ... ON CONFLICT DO UPDATE`` on the partial unique index of open
records — so a flood of forged requests costs one row and one statement each,
never a growing table, and two workers seeing the same signal at once cannot
make two records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from core.database import new_id, rfc3339, utcnow
from core.errors import Conflict, NotFound
from privacy.legal.models import LegalRecord
from privacy.legal.subjects import SubjectReference
from privacy.purposes import ANTI_PIRACY, LEGAL_OBLIGATION, PURPOSES, PurposeRegistry

_TABLE = LegalRecord.__table__
_OPEN = sa.text("status = 'open'")
# Which retention period of its purpose a record's tag keeps it for.
RETENTION_PERIODS = {ANTI_PIRACY: "case", "export.compliance": "screening"}
MAX_LISTED = 1000


@dataclass(frozen=True)
class Observation:
    """One detected signal, as the compliance store keeps it."""

    kind: str
    tags: tuple[str, ...]
    subject: SubjectReference
    license_id: str | None = None
    country: str | None = None
    evidence: dict = field(default_factory=dict)


def _insert(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(_TABLE)


def retention_days(tag: str, purposes: PurposeRegistry = PURPOSES) -> int:
    """Days a record tagged TAG is kept after its retention starts."""
    return purposes.get(tag).period(RETENTION_PERIODS[tag]).days


def _retain_until(tag: str, start: datetime | None) -> datetime | None:
    # An anti-piracy case is kept three years after it closes: an open one has no end yet.
    if start is None:
        return None
    return start + timedelta(days=retention_days(tag))


def observe(connection: sa.Connection, observation: Observation, now: datetime) -> None:
    """Add OBSERVATION to the open record of its kind and subject, or open one."""
    purpose = observation.tags[0]
    if purpose not in RETENTION_PERIODS:
        raise ValueError(f"no retention is declared for records tagged {purpose!r}")
    # Export records run from the last screening; anti-piracy ones from the case's close.
    until = _retain_until(purpose, now) if purpose != ANTI_PIRACY else None
    values = {"id": new_id("rec"), "kind": observation.kind,
              "purpose": purpose, "tags": list(observation.tags),
              "lawful_basis": LEGAL_OBLIGATION, "subject": observation.subject.value,
              "subject_key_version": observation.subject.key_version,
              "license_id": observation.license_id, "country": observation.country,
              "evidence": observation.evidence, "first_seen_at": now, "last_seen_at": now,
              "count": 1, "status": "open", "legal_hold": False, "retain_until": until}
    statement = _insert(connection.dialect.name).values(values)
    excluded = statement.excluded
    connection.execute(statement.on_conflict_do_update(
        # A literal predicate: PostgreSQL infers the partial index from it, and cannot from
        # a bound parameter once psycopg has prepared the statement (from its 6th run).
        index_elements=[_TABLE.c.kind, _TABLE.c.subject], index_where=_OPEN,
        set_={"count": _TABLE.c.count + 1, "last_seen_at": excluded.last_seen_at,
              "country": sa.func.coalesce(excluded.country, _TABLE.c.country),
              "license_id": sa.func.coalesce(excluded.license_id, _TABLE.c.license_id),
              "evidence": excluded.evidence, "retain_until": excluded.retain_until}))


def as_dict(record: LegalRecord) -> dict:
    """A record as the API shows it."""
    return {"id": record.id, "kind": record.kind, "tags": list(record.tags),
            "lawful_basis": record.lawful_basis, "subject": record.subject,
            "license": record.license_id, "country": record.country,
            "evidence": dict(record.evidence or {}),
            "first_seen_at": rfc3339(record.first_seen_at),
            "last_seen_at": rfc3339(record.last_seen_at), "count": record.count,
            "status": record.status, "legal_hold": record.legal_hold,
            "retain_until": rfc3339(record.retain_until)}


class RecordService:
    """Read and manage compliance records on a session (which routes them to their store)."""

    def __init__(self, session, clock=utcnow):
        self._session = session
        self._clock = clock

    def list(self, tag: str | None = None, kind: str | None = None,
             status: str | None = None, limit: int = MAX_LISTED) -> list[LegalRecord]:
        """The newest records matching the filters."""
        query = sa.select(LegalRecord)
        for column, value in ((LegalRecord.purpose, tag), (LegalRecord.kind, kind),
                              (LegalRecord.status, status)):
            if value is not None:
                query = query.where(column == value)
        return list(self._session.scalars(
            query.order_by(LegalRecord.last_seen_at.desc(), LegalRecord.id)
            .limit(min(limit, MAX_LISTED))))

    def get(self, record_id: str) -> LegalRecord:
        """The record RECORD_ID."""
        record = self._session.get(LegalRecord, record_id)
        if record is None:
            raise NotFound("No such record.")
        return record

    def hold(self, record_id: str, hold: bool, reason: str) -> LegalRecord:
        """Put a record on legal hold (the purge leaves it), or lift the hold."""
        record = self.get(record_id)
        record.legal_hold = hold
        record.hold_reason = reason if hold else None
        self._session.flush()
        return record

    def close(self, record_id: str, reason: str) -> LegalRecord:
        """Close a record's case; its retention runs from now."""
        record = self.get(record_id)
        if record.status == "closed":
            raise Conflict("The record is already closed.")
        now = self._clock()
        record.status, record.closed_at, record.close_reason = "closed", now, reason
        if record.purpose == ANTI_PIRACY:
            record.retain_until = _retain_until(ANTI_PIRACY, now)
        self._session.flush()
        return record
