"""Tables the privacy engine owns: the access log."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.database import UTCDateTime, db, utcnow
from privacy.purposes import PRIVACY_RIGHTS, STAFF_ACCESS, SUPPORT, personal

_AUDIT = personal("access.audit", SUPPORT, PRIVACY_RIGHTS, STAFF_ACCESS)


class AccessLogEntry(db.Model):
    """One read of one subject's personal data by a person; no raw personal data."""

    __tablename__ = "access_log"
    __table_args__ = (
        sa.Index("ix_access_log_subject", "subject_pseudonym", "occurred_at"),
        {"comment": "who read whose data, why and when (subject as pseudonym only)"},
    )

    id: Mapped[int] = mapped_column(primary_key=True, info=_AUDIT)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True,
                                                  info=_AUDIT)
    # "staff:<id>" or "cli:<operating-system user>": who, never a customer.
    actor: Mapped[str] = mapped_column(sa.String(80), info=personal("staff.identity",
                                                                     STAFF_ACCESS))
    actor_role: Mapped[str] = mapped_column(sa.String(16), info=_AUDIT)
    # HMAC pseudonym of the subject (domain "subject") and the key version that made it.
    subject_pseudonym: Mapped[str] = mapped_column(sa.String(64), info=_AUDIT)
    subject_key_version: Mapped[int] = mapped_column(sa.Integer, info=_AUDIT)
    purpose: Mapped[str] = mapped_column(sa.String(40), info=_AUDIT)
    action: Mapped[str] = mapped_column(sa.String(64), info=_AUDIT)
    # Ticket reference or text, with addresses, emails and codes scrubbed out.
    reason: Mapped[str] = mapped_column(sa.String(200), info=_AUDIT)
    request_id: Mapped[str | None] = mapped_column(sa.String(64), info=_AUDIT)
