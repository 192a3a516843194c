"""Notices to a subject: what the service tells them before or after it acts on their data.

Lifting a restriction (GDPR Art 18(3)) must be announced to the subject
before it happens; an export made for an access request is announced when it
is ready. A notice is a row the subject reads in the Customer Area
(``GET /v1/me/notices``); nothing here sends email.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.database import UTCDateTime, db, new_id, rfc3339, utcnow
from privacy.purposes import PRIVACY_RIGHTS, personal, processes

KINDS = ("restriction_lifted", "export_ready", "request_decided")
_NOTICE = personal("notice.record", PRIVACY_RIGHTS)


class Notice(db.Model):
    """One message to one subject, newest shown first."""

    __tablename__ = "subject_notices"
    __table_args__ = (
        sa.Index("ix_subject_notices_subject", "subject_kind", "subject_id", "created_at"),
        {"comment": "notices to data subjects about their rights"},
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True,
                                    default=lambda: new_id("ntc"), info=_NOTICE)
    subject_kind: Mapped[str] = mapped_column(sa.String(16), info=_NOTICE)
    subject_id: Mapped[str] = mapped_column(sa.String(40), info=_NOTICE)
    kind: Mapped[str] = mapped_column(sa.String(32), info=_NOTICE)
    text: Mapped[str] = mapped_column(sa.String(1000), info=_NOTICE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, info=_NOTICE)


class NoticeService:
    """Queue notices for a subject and read them back."""

    def __init__(self, session, clock=utcnow):
        self._session = session
        self._clock = clock

    @processes(PRIVACY_RIGHTS)
    def queue(self, subject_kind: str, subject_id: str, kind: str, text: str) -> Notice:
        """Leave TEXT for the subject to read; it is visible as soon as the session commits."""
        if kind not in KINDS:
            raise ValueError(f"unknown notice kind {kind!r}")
        notice = Notice(subject_kind=subject_kind, subject_id=subject_id, kind=kind, text=text,
                        created_at=self._clock())
        self._session.add(notice)
        self._session.flush()
        return notice

    def for_subject(self, subject_kind: str, subject_id: str) -> list[Notice]:
        """The subject's notices, newest first."""
        return list(self._session.scalars(
            sa.select(Notice).where(Notice.subject_kind == subject_kind,
                                    Notice.subject_id == subject_id)
            .order_by(Notice.created_at.desc(), Notice.id)))


def notice_view(notice: Notice) -> dict:
    """A notice as the API shows it."""
    return {"id": notice.id, "kind": notice.kind, "created_at": rfc3339(notice.created_at),
            "text": notice.text}
