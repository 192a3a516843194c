"""Lease-signing keys."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.database import UTCDateTime, db, utcnow
from licensing.declarations import SIGNING
from privacy.vault import EncryptedText


class SigningKey(db.Model):
    """An Ed25519 lease-signing key; the private half is sealed by the vault."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(sa.String(64), primary_key=True, info=SIGNING)
    public_key: Mapped[str] = mapped_column(sa.String(64), info=SIGNING)
    private_key: Mapped[str] = mapped_column(EncryptedText("signing_keys.private_key"),
                                             info=SIGNING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, info=SIGNING)
    # Published from creation; signs from activates_at, so every cache has seen it first.
    activates_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, info=SIGNING)
    # Set when a newer key takes over: stays published until its last lease expires.
    published_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=SIGNING)
