"""Seats (one device bound to a license) and spent DPoP proof ids."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.database import UTCDateTime, db, new_id, utcnow
from licensing.declarations import DEVICE, DEVICE_KEY, HOLDING, LABEL, USAGE
from privacy.purposes import LICENSE_REFRESH, not_personal, personal
from privacy.vault import EncryptedText

if TYPE_CHECKING:  # relationships across domains resolve by name at run time
    from licensing.catalog.models import License



class Seat(db.Model):
    """One activation: a device bound to a seat of a license.

    A released seat is de-identified after the `license.activation` retention
    (device columns set to NULL); the bare row (license, times) is kept for the
    counts `license.compliance` needs, then deleted.
    """

    __tablename__ = "seats"
    __table_args__ = (
        sa.Index("uq_seats_active_device", "license_id", "device_pseudonym", unique=True,
                 sqlite_where=sa.text("released_at IS NULL"),
                 postgresql_where=sa.text("released_at IS NULL")),
        sa.Index("ix_seats_license_active", "license_id", "released_at"),
        # Floating seats still held, by when they lapse (for `flask licensing reap`).
        sa.Index("ix_seats_held_until", "held_until",
                 sqlite_where=sa.text("released_at IS NULL AND held_until IS NOT NULL"),
                 postgresql_where=sa.text("released_at IS NULL AND held_until IS NOT NULL")),
        sa.CheckConstraint("released_at IS NOT NULL OR (device_pseudonym IS NOT NULL AND "
                           "device_key_version IS NOT NULL AND device_jkt IS NOT NULL AND "
                           "device_public_key IS NOT NULL)", name="active_seat_identified",
                           comment="only a released seat may be de-identified"),
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True,
                                    default=lambda: new_id("act"), info=USAGE)
    license_id: Mapped[str] = mapped_column(sa.ForeignKey("licenses.id"), info=HOLDING)
    # HMAC of the device ID (privacy.pseudonym, domain "device"); never the raw ID.
    device_pseudonym: Mapped[str | None] = mapped_column(sa.String(64), info=DEVICE)
    device_key_version: Mapped[int | None] = mapped_column(sa.Integer, info=DEVICE)
    # HMACs of the device's components (domain "device-component", same key version as
    # device_pseudonym), by component name; never the raw values.
    device_components: Mapped[dict | None] = mapped_column(sa.JSON, info=DEVICE)
    # RFC 7638 thumbprint and public key of the device's DPoP key.
    device_jkt: Mapped[str | None] = mapped_column(sa.String(64), info=DEVICE_KEY)
    device_public_key: Mapped[str | None] = mapped_column(sa.String(64), info=DEVICE_KEY)
    device_name: Mapped[str | None] = mapped_column(EncryptedText("seats.device_name"),
                                                    info=LABEL)
    platform: Mapped[str | None] = mapped_column(sa.String(32), info=LABEL)
    offline: Mapped[bool] = mapped_column(sa.Boolean, default=False, info=USAGE)
    activated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, info=USAGE)
    last_refresh_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=USAGE)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True, info=USAGE)
    # Floating seats only: the end of the last lease issued for the seat. Past it the
    # seat has lapsed and no longer counts, whether or not released_at is set yet.
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=USAGE)
    release_reason: Mapped[str | None] = mapped_column(sa.String(32), info=USAGE)
    # Where the last activation or refresh came from: country, and a /24 or /48 prefix
    # (never the address) kept 30 days from ip_prefix_at.
    country: Mapped[str | None] = mapped_column(
        sa.String(2), info=personal("network.country", LICENSE_REFRESH))
    ip_prefix: Mapped[str | None] = mapped_column(
        sa.String(43), info=personal("network.ip_prefix", LICENSE_REFRESH))
    ip_prefix_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), index=True, info=personal("network.ip_prefix", LICENSE_REFRESH))

    license: Mapped[License] = relationship()


class SpentProof(db.Model):
    """A DPoP proof id seen within the replay window (shared by all workers)."""

    __tablename__ = "spent_proofs"

    # SHA-256 of the jti: a fixed width whatever the client sent.
    jti_hash: Mapped[str] = mapped_column(
        sa.String(64), primary_key=True,
        info=not_personal("hash of a random one-time proof id; links to no seat"))
    expires_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), index=True, info=not_personal("end of the replay window"))
