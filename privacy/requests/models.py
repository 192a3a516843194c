"""The subject_requests table: one row per data-subject request, open or decided."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.database import UTCDateTime, db, new_id, utcnow
from privacy.purposes import PRIVACY_RIGHTS, STAFF_ACCESS, personal
from privacy.vault import EncryptedText

TYPES = ("access", "portability", "rectification", "erasure", "restriction", "objection")
OPEN = ("received", "extended")
STATUSES = (*OPEN, "completed", "rejected")
CHANNELS = ("customer_area", "email", "post", "phone")

_RECORD = personal("request.record", PRIVACY_RIGHTS)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


_OPEN_ONLY = sa.text(_in("status", OPEN))


class SubjectRequest(db.Model):
    """A data-subject request: what was asked, when it arrived, when it is due, how it ended."""

    __tablename__ = "subject_requests"
    __table_args__ = (
        sa.CheckConstraint(_in("type", TYPES), name="type_known"),
        sa.CheckConstraint(_in("status", STATUSES), name="status_known"),
        sa.CheckConstraint(_in("channel", CHANNELS), name="channel_known"),
        sa.CheckConstraint("due_at > received_at", name="due_after_receipt"),
        sa.CheckConstraint("extended_months IS NULL OR extended_months IN (1, 2)",
                           name="extension_at_most_two_months",
                           comment="Art 12(3): one month, extendable by two further months"),
        sa.Index("uq_subject_requests_one_open_per_type", "subject_kind", "subject_id", "type",
                 unique=True, sqlite_where=_OPEN_ONLY, postgresql_where=_OPEN_ONLY),
        sa.Index("ix_subject_requests_subject", "subject_kind", "subject_id"),
        sa.Index("ix_subject_requests_status_due", "status", "due_at"),
        {"comment": "data-subject requests; details sealed in the vault"},
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True,
                                    default=lambda: new_id("req"), info=_RECORD)
    subject_kind: Mapped[str] = mapped_column(sa.String(16), info=_RECORD)
    subject_id: Mapped[str] = mapped_column(sa.String(40), info=_RECORD)
    type: Mapped[str] = mapped_column(sa.String(16), info=_RECORD)
    status: Mapped[str] = mapped_column(sa.String(16), default="received", info=_RECORD)
    channel: Mapped[str] = mapped_column(sa.String(16), info=_RECORD)
    # JSON of what the subject wrote (a note, or the rectified values): personal, so sealed,
    # and cleared when the subject is erased.
    details: Mapped[str | None] = mapped_column(EncryptedText("subject_requests.details"),
                                                info=_RECORD)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), info=_RECORD)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), info=_RECORD)
    extended_months: Mapped[int | None] = mapped_column(sa.Integer, info=_RECORD)
    extension_reason: Mapped[str | None] = mapped_column(sa.String(500), info=_RECORD)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=_RECORD)
    # "staff:<id>" or "cli:<user>": who decided, never a customer.
    decided_by: Mapped[str | None] = mapped_column(
        sa.String(80), info=personal("staff.identity", STAFF_ACCESS))
    # What the system did (or why it refused): field names and purposes, no personal values.
    outcome: Mapped[dict | None] = mapped_column(sa.JSON, info=_RECORD)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, info=_RECORD)
