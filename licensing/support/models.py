"""Members of staff, their API tokens and their console sessions.

A staff member may hold several API tokens (one per tool or machine), each
revocable on its own and stamped with when it was last used; the console's
cookie names a session row. Tokens and sessions are kept only as HMAC, and
go with the staff row (ON DELETE CASCADE), which the purge deletes twelve
months after the staff member is disabled.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.database import UTCDateTime, db, one_of, utcnow
from licensing.declarations import STAFF
from privacy.vault import EncryptedText

STAFF_ROLES = ("support", "compliance", "privacy", "admin")


class Staff(db.Model):
    """A member of staff with one role, a console password and, optionally, TOTP."""

    __tablename__ = "staff"
    __table_args__ = (sa.CheckConstraint(one_of("role", STAFF_ROLES), name="role_known"),)

    id: Mapped[int] = mapped_column(primary_key=True, info=STAFF)
    # Unique: the console signs in, and the CLI finds staff, by name.
    name: Mapped[str] = mapped_column(sa.String(120), unique=True, info=STAFF)
    role: Mapped[str] = mapped_column(sa.String(16), info=STAFF)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255), info=STAFF)
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText("staff.totp_secret"),
                                                    info=STAFF)
    # The last TOTP time step accepted: a code is good once (RFC 6238 section 5.2).
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger, info=STAFF)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, info=STAFF)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=STAFF)


class StaffToken(db.Model):
    """An API bearer token (tss_...) of one staff member; the token itself is never stored."""

    __tablename__ = "staff_tokens"

    id: Mapped[int] = mapped_column(primary_key=True, info=STAFF)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id", ondelete="CASCADE"),
                                          index=True, info=STAFF)
    # HMAC of the token (domain "staff-token") under the pseudonym key KEY_VERSION.
    token_hmac: Mapped[str] = mapped_column(sa.String(64), unique=True, info=STAFF)
    key_version: Mapped[int] = mapped_column(sa.Integer, info=STAFF)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, info=STAFF)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=STAFF)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=STAFF)

    staff: Mapped[Staff] = relationship()


class StaffConsoleSession(db.Model):
    """A staff console sign-in, named by the console's cookie; kept only as HMAC."""

    __tablename__ = "staff_console_sessions"

    id: Mapped[int] = mapped_column(primary_key=True, info=STAFF)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id", ondelete="CASCADE"),
                                          index=True, info=STAFF)
    # HMAC of the token (domain "staff-session").
    token_hmac: Mapped[str] = mapped_column(sa.String(64), unique=True, info=STAFF)
    key_version: Mapped[int] = mapped_column(sa.Integer, info=STAFF)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, info=STAFF)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True, info=STAFF)

    staff: Mapped[Staff] = relationship()
