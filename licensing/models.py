"""Accounts, products, licenses, seats, activation codes, signing keys, staff."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from licensing.extensions import db
from licensing.types import UTCDateTime, new_id, utcnow
from privacy.vault import EncryptedText

LICENSE_KINDS = ("perpetual", "subscription", "trial")
LICENSE_STATUSES = ("active", "suspended", "revoked")
STAFF_ROLES = ("support", "compliance", "privacy", "admin")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Account(db.Model):
    """A Customer Area account: the data subject of most records here."""

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True,
                                    default=lambda: new_id("acc"))
    username: Mapped[str] = mapped_column(sa.String(150), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    email: Mapped[str | None] = mapped_column(EncryptedText("accounts.email"))
    # HMAC blind index of the normalised email, for look-up without decrypting.
    email_index: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    email_index_version: Mapped[int | None] = mapped_column(sa.Integer)
    name: Mapped[str | None] = mapped_column(EncryptedText("accounts.name"))
    company: Mapped[str | None] = mapped_column(EncryptedText("accounts.company"))
    country: Mapped[str | None] = mapped_column(sa.String(2))
    restricted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    licenses: Mapped[list[License]] = relationship(back_populates="account")


class Product(db.Model):
    """A desktop product that activates against Tessera."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class License(db.Model):
    """The right of one account to use a product on a number of devices."""

    __tablename__ = "licenses"
    __table_args__ = (
        sa.CheckConstraint("seats >= 1", name="seats_positive",
                           comment="a license grants at least one seat"),
        sa.CheckConstraint(_in("kind", LICENSE_KINDS), name="kind_known"),
        sa.CheckConstraint(_in("status", LICENSE_STATUSES), name="status_known"),
        sa.CheckConstraint("lease_seconds > 0 AND offline_lease_seconds > 0 "
                           "AND grace_seconds >= 0", name="durations_valid"),
        sa.Index("ix_licenses_account_product", "account_id", "product_id"),
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True,
                                    default=lambda: new_id("lic"))
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"))
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16), default="active")
    seats: Mapped[int] = mapped_column(sa.Integer)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    grace_seconds: Mapped[int] = mapped_column(sa.Integer, default=14 * 86400)
    lease_seconds: Mapped[int] = mapped_column(sa.Integer, default=7 * 86400)
    offline_lease_seconds: Mapped[int] = mapped_column(sa.Integer, default=90 * 86400)
    entitlements: Mapped[list] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    account: Mapped[Account] = relationship(back_populates="licenses")
    product: Mapped[Product] = relationship()


class Seat(db.Model):
    """One activation: a device bound to a seat of a license."""

    __tablename__ = "seats"
    __table_args__ = (
        sa.Index("uq_seats_active_device", "license_id", "device_pseudonym", unique=True,
                 sqlite_where=sa.text("released_at IS NULL"),
                 postgresql_where=sa.text("released_at IS NULL")),
        sa.Index("ix_seats_license_active", "license_id", "released_at"),
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True,
                                    default=lambda: new_id("act"))
    license_id: Mapped[str] = mapped_column(sa.ForeignKey("licenses.id"))
    # HMAC of the device ID (privacy.pseudonym, domain "device"); never the raw ID.
    device_pseudonym: Mapped[str] = mapped_column(sa.String(64))
    device_key_version: Mapped[int] = mapped_column(sa.Integer)
    # RFC 7638 thumbprint and public key of the device's DPoP key.
    device_jkt: Mapped[str] = mapped_column(sa.String(64))
    device_public_key: Mapped[str] = mapped_column(sa.String(64))
    device_name: Mapped[str | None] = mapped_column(EncryptedText("seats.device_name"))
    platform: Mapped[str | None] = mapped_column(sa.String(32))
    offline: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    activated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_refresh_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    release_reason: Mapped[str | None] = mapped_column(sa.String(32))

    license: Mapped[License] = relationship()


class ActivationCode(db.Model):
    """A single-use code that activates one seat of a license."""

    __tablename__ = "activation_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    license_id: Mapped[str] = mapped_column(sa.ForeignKey("licenses.id"))
    # HMAC of the normalised code (domain "activation-code"); never the code.
    code_hmac: Mapped[str] = mapped_column(sa.String(64), unique=True)
    key_version: Mapped[int] = mapped_column(sa.Integer)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    seat_id: Mapped[str | None] = mapped_column(sa.ForeignKey("seats.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    license: Mapped[License] = relationship()


class SigningKey(db.Model):
    """An Ed25519 lease-signing key; the private half is sealed by the vault."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    public_key: Mapped[str] = mapped_column(sa.String(64))
    private_key: Mapped[str] = mapped_column(EncryptedText("signing_keys.private_key"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Published from creation; signs from activates_at, so every cache has seen it first.
    activates_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set when a newer key takes over: stays published until its last lease expires.
    published_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Staff(db.Model):
    """A member of staff with one role and a bearer token kept only as HMAC."""

    __tablename__ = "staff"
    __table_args__ = (sa.CheckConstraint(_in("role", STAFF_ROLES), name="role_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    role: Mapped[str] = mapped_column(sa.String(16))
    token_hmac: Mapped[str] = mapped_column(sa.String(64), unique=True)
    key_version: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SpentProof(db.Model):
    """A DPoP proof id seen within the replay window (shared by all workers)."""

    __tablename__ = "spent_proofs"

    # SHA-256 of the jti: a fixed width whatever the client sent.
    jti_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
