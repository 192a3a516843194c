"""Objections (GDPR Art 21): a subject's objection that stops a legitimate-interests purpose.

An upheld objection is a row naming the subject and the purpose. Code that
processes for a legitimate-interests purpose (compliance checks of seat
churn and clones, for one) leaves out the subjects ``objecting(purpose)``
returns, or asks ``objects`` for one subject, every time it runs.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.database import UTCDateTime, db, rfc3339, utcnow
from privacy.purposes import (LEGITIMATE_INTERESTS, PRIVACY_RIGHTS, PURPOSES, PurposeRegistry,
                              personal)

_OBJECTION = personal("objection.record", PRIVACY_RIGHTS)


class ProcessingObjection(db.Model):
    """A subject's upheld objection to one purpose."""

    __tablename__ = "processing_objections"
    __table_args__ = (
        sa.UniqueConstraint("subject_kind", "subject_id", "purpose",
                            name="one_objection_per_purpose"),
        {"comment": "purposes that no longer process a subject's data, at their objection"},
    )

    id: Mapped[int] = mapped_column(primary_key=True, info=_OBJECTION)
    subject_kind: Mapped[str] = mapped_column(sa.String(16), info=_OBJECTION)
    subject_id: Mapped[str] = mapped_column(sa.String(40), index=True, info=_OBJECTION)
    purpose: Mapped[str] = mapped_column(sa.String(40), info=_OBJECTION)
    request_id: Mapped[str | None] = mapped_column(sa.String(40), info=_OBJECTION)
    objected_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                  info=_OBJECTION)


class ObjectionService:
    """Record upheld objections and answer whether a purpose may process a subject."""

    def __init__(self, session, purposes: PurposeRegistry = PURPOSES, clock=utcnow):
        self._session = session
        self._purposes = purposes
        self._clock = clock

    def objectable(self, data_subject: str = "customer") -> list[str]:
        """The purposes an objection stops: legitimate interests over these subjects' data."""
        return [p.key for p in self._purposes
                if p.lawful_basis == LEGITIMATE_INTERESTS and data_subject in p.data_subjects]

    def uphold(self, subject_kind: str, subject_id: str, request_id: str | None) -> list[str]:
        """Stop every objectable purpose for the subject; the purposes stopped."""
        stopped = []
        for purpose in self.objectable():
            if not self.objects(subject_kind, subject_id, purpose):
                self._session.add(ProcessingObjection(
                    subject_kind=subject_kind, subject_id=subject_id, purpose=purpose,
                    request_id=request_id, objected_at=self._clock()))
            stopped.append(purpose)
        self._session.flush()
        return stopped

    def objects(self, subject_kind: str, subject_id: str, purpose: str) -> bool:
        """Whether the subject has objected to PURPOSE."""
        return self._session.scalar(sa.select(sa.exists().where(
            ProcessingObjection.subject_kind == subject_kind,
            ProcessingObjection.subject_id == subject_id,
            ProcessingObjection.purpose == purpose))) or False

    @staticmethod
    def objecting(purpose: str, subject_kind: str) -> sa.Select:
        """A subquery of the subject ids that objected to PURPOSE (to leave them out)."""
        return sa.select(ProcessingObjection.subject_id).where(
            ProcessingObjection.purpose == purpose,
            ProcessingObjection.subject_kind == subject_kind)

    def for_subject(self, subject_kind: str, subject_id: str) -> list[dict]:
        """The subject's objections, for their export."""
        rows = self._session.scalars(sa.select(ProcessingObjection).where(
            ProcessingObjection.subject_kind == subject_kind,
            ProcessingObjection.subject_id == subject_id).order_by(ProcessingObjection.id))
        return [{"purpose": r.purpose, "objected_at": rfc3339(r.objected_at),
                 "request": r.request_id} for r in rows]
