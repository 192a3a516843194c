"""Consent (GDPR Art 7): given or withdrawn per purpose, with the time and policy version.

Each change is a new row, never an update: the newest row for a subject and
purpose is the consent in force, and the rows before it show what was agreed
to and when (Art 7(1): the controller must be able to demonstrate consent).
Only purposes whose lawful basis is Consent can be consented to. Withdrawing
is the same single call as giving, and code that acts on a consent purpose
asks ``granted`` each time, so a withdrawal stops the purpose at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.database import UTCDateTime, db, rfc3339, utcnow
from core.errors import NotFound
from privacy.purposes import CONSENT, MARKETING, PURPOSES, Purpose, PurposeRegistry, personal

_CONSENT = personal("consent.record", MARKETING)


class ConsentRecord(db.Model):
    """One giving or withdrawal of consent to one purpose."""

    __tablename__ = "consent_records"
    __table_args__ = (
        sa.Index("ix_consent_records_subject", "subject_kind", "subject_id", "purpose",
                 "recorded_at"),
        {"comment": "consents given and withdrawn, append-only"},
    )

    id: Mapped[int] = mapped_column(primary_key=True, info=_CONSENT)
    subject_kind: Mapped[str] = mapped_column(sa.String(16), info=_CONSENT)
    subject_id: Mapped[str] = mapped_column(sa.String(40), info=_CONSENT)
    purpose: Mapped[str] = mapped_column(sa.String(40), info=_CONSENT)
    granted: Mapped[bool] = mapped_column(sa.Boolean, info=_CONSENT)
    policy_version: Mapped[str] = mapped_column(sa.String(40), info=_CONSENT)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, info=_CONSENT)


@dataclass(frozen=True)
class ConsentState:
    """A subject's consent to one purpose as it stands."""

    purpose: str
    granted: bool
    updated_at: datetime | None
    policy_version: str

    def as_dict(self) -> dict:
        return {"purpose": self.purpose, "granted": self.granted,
                "updated_at": rfc3339(self.updated_at), "policy_version": self.policy_version}


class ConsentService:
    """Give, withdraw and check consent to the purposes whose basis is Consent."""

    def __init__(self, session, policy_version: str, purposes: PurposeRegistry = PURPOSES,
                 clock=utcnow):
        self._session = session
        self._policy_version = policy_version
        self._purposes = purposes
        self._clock = clock

    def purposes(self) -> list[Purpose]:
        """The purposes a subject can consent to."""
        return [p for p in self._purposes if p.lawful_basis == CONSENT]

    def _consent_purpose(self, key: str) -> Purpose:
        found = [p for p in self.purposes() if p.key == key]
        if not found:
            raise NotFound("No consent-based purpose of that name.")
        return found[0]

    def _latest(self, subject_kind: str, subject_id: str, purpose: str) -> ConsentRecord | None:
        return self._session.scalars(
            sa.select(ConsentRecord)
            .where(ConsentRecord.subject_kind == subject_kind,
                   ConsentRecord.subject_id == subject_id, ConsentRecord.purpose == purpose)
            .order_by(ConsentRecord.recorded_at.desc(), ConsentRecord.id.desc())
            .limit(1)).first()

    def state(self, subject_kind: str, subject_id: str, purpose: str) -> ConsentState:
        """The consent to PURPOSE in force (not given, when never asked)."""
        self._consent_purpose(purpose)
        latest = self._latest(subject_kind, subject_id, purpose)
        if latest is None:
            return ConsentState(purpose, False, None, self._policy_version)
        return ConsentState(purpose, latest.granted, latest.recorded_at, latest.policy_version)

    def states(self, subject_kind: str, subject_id: str) -> list[ConsentState]:
        """One entry per consent-based purpose."""
        return [self.state(subject_kind, subject_id, p.key) for p in self.purposes()]

    def granted(self, subject_kind: str, subject_id: str, purpose: str) -> bool:
        """Whether PURPOSE may process the subject's data now."""
        return self.state(subject_kind, subject_id, purpose).granted

    def record(self, subject_kind: str, subject_id: str, purpose: str,
               granted: bool) -> ConsentState:
        """Give or withdraw consent to PURPOSE under the current policy version."""
        self._consent_purpose(purpose)
        record = ConsentRecord(subject_kind=subject_kind, subject_id=subject_id,
                               purpose=purpose, granted=granted,
                               policy_version=self._policy_version, recorded_at=self._clock())
        self._session.add(record)
        self._session.flush()
        return ConsentState(purpose, granted, record.recorded_at, record.policy_version)

    def history(self, subject_kind: str, subject_id: str) -> list[dict]:
        """Every giving and withdrawal, oldest first (for the subject's export)."""
        rows = self._session.scalars(
            sa.select(ConsentRecord)
            .where(ConsentRecord.subject_kind == subject_kind,
                   ConsentRecord.subject_id == subject_id)
            .order_by(ConsentRecord.recorded_at, ConsentRecord.id))
        return [{"purpose": r.purpose, "granted": r.granted, "recorded_at": rfc3339(r.recorded_at),
                 "policy_version": r.policy_version} for r in rows]
