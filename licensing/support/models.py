"""Members of staff."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.database import UTCDateTime, db, one_of, utcnow
from licensing.declarations import STAFF

STAFF_ROLES = ("support", "compliance", "privacy", "admin")


class Staff(db.Model):
    """A member of staff with one role and a bearer token kept only as HMAC."""

    __tablename__ = "staff"
    __table_args__ = (sa.CheckConstraint(one_of("role", STAFF_ROLES), name="role_known"),)

    id: Mapped[int] = mapped_column(primary_key=True, info=STAFF)
    name: Mapped[str] = mapped_column(sa.String(120), info=STAFF)
    role: Mapped[str] = mapped_column(sa.String(16), info=STAFF)
    token_hmac: Mapped[str] = mapped_column(sa.String(64), unique=True, info=STAFF)
    key_version: Mapped[int] = mapped_column(sa.Integer, info=STAFF)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, info=STAFF)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=STAFF)
