"""Accounts, products, licenses, seats, activation codes, signing keys, staff.

Every column declares what it holds (``privacy.purposes.personal`` /
``not_personal``): the category of personal data and the purposes it serves.
The record of processing lists where each purpose's data is stored from these
declarations, and a test fails on a column that declares nothing.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from licensing.extensions import db
from licensing.types import UTCDateTime, new_id, utcnow
from privacy.purposes import (LICENSE_ACTIVATION, LICENSE_COMPLIANCE, LICENSE_REFRESH,
                              PRIVACY_RIGHTS, STAFF_ACCESS, SUPPORT, not_personal, personal)
from privacy.vault import EncryptedText

LICENSE_KINDS = ("perpetual", "subscription", "trial")
LICENSE_STATUSES = ("active", "suspended", "revoked")
STAFF_ROLES = ("support", "compliance", "privacy", "admin")

_ACCOUNT_ID = personal("account.identifier", LICENSE_ACTIVATION, SUPPORT)
_CONTACT = personal("account.contact", SUPPORT)
_ACCOUNT_RECORD = personal("account.record", SUPPORT, PRIVACY_RIGHTS)
_HOLDING = personal("license.holding", LICENSE_ACTIVATION, LICENSE_COMPLIANCE, SUPPORT)
_USAGE = personal("seat.usage", LICENSE_ACTIVATION, LICENSE_REFRESH, LICENSE_COMPLIANCE, SUPPORT)
_DEVICE = personal("device.pseudonym", LICENSE_ACTIVATION, LICENSE_REFRESH)
_DEVICE_KEY = personal("device.public_key", LICENSE_ACTIVATION)
_LABEL = personal("device.label", LICENSE_ACTIVATION, SUPPORT)
_CODE = personal("activation.code", LICENSE_ACTIVATION)
_STAFF = personal("staff.identity", STAFF_ACCESS)
_SESSION = personal("account.session", LICENSE_ACTIVATION)
_CATALOGUE = not_personal("the product catalogue")
_SIGNING = not_personal("the service's own lease-signing keys")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Account(db.Model):
    """A Customer Area account: the data subject of most records here."""

    __tablename__ = "accounts"
    __table_args__ = (
        sa.CheckConstraint("erased_at IS NOT NULL OR "
                           "(username IS NOT NULL AND password_hash IS NOT NULL)",
                           name="live_account_identified",
                           comment="only an erased account has no username or password"),
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True,
                                    default=lambda: new_id("acc"), info=_ACCOUNT_ID)
    # NULL once erased; usernames of live accounts stay unique.
    username: Mapped[str | None] = mapped_column(sa.String(150), unique=True, info=_ACCOUNT_ID)
    password_hash: Mapped[str | None] = mapped_column(
        sa.String(255), info=personal("account.credential", LICENSE_ACTIVATION))
    email: Mapped[str | None] = mapped_column(EncryptedText("accounts.email"), info=_CONTACT)
    # HMAC blind index of the normalised email, for look-up without decrypting.
    email_index: Mapped[str | None] = mapped_column(sa.String(64), index=True, info=_CONTACT)
    email_index_version: Mapped[int | None] = mapped_column(sa.Integer, info=_CONTACT)
    name: Mapped[str | None] = mapped_column(EncryptedText("accounts.name"), info=_CONTACT)
    company: Mapped[str | None] = mapped_column(EncryptedText("accounts.company"), info=_CONTACT)
    country: Mapped[str | None] = mapped_column(sa.String(2),
                                                info=personal("account.country", SUPPORT))
    restricted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=_ACCOUNT_RECORD)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                 info=_ACCOUNT_RECORD)
    # Set by an erasure: the row stays (licenses point at it) with nothing identifying.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=_ACCOUNT_RECORD)

    licenses: Mapped[list[License]] = relationship(back_populates="account")


class Product(db.Model):
    """A desktop product that activates against Tessera."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True, info=_CATALOGUE)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True, info=_CATALOGUE)
    name: Mapped[str] = mapped_column(sa.String(200), info=_CATALOGUE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, info=_CATALOGUE)


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
                                    default=lambda: new_id("lic"), info=_HOLDING)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), info=_ACCOUNT_ID)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), info=_HOLDING)
    kind: Mapped[str] = mapped_column(sa.String(16), info=_HOLDING)
    status: Mapped[str] = mapped_column(sa.String(16), default="active", info=_HOLDING)
    seats: Mapped[int] = mapped_column(sa.Integer, info=_HOLDING)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, info=_HOLDING)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=_HOLDING)
    grace_seconds: Mapped[int] = mapped_column(sa.Integer, default=14 * 86400, info=_HOLDING)
    lease_seconds: Mapped[int] = mapped_column(sa.Integer, default=7 * 86400, info=_HOLDING)
    offline_lease_seconds: Mapped[int] = mapped_column(sa.Integer, default=90 * 86400,
                                                       info=_HOLDING)
    entitlements: Mapped[list] = mapped_column(sa.JSON, default=list, info=_HOLDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, info=_HOLDING)

    account: Mapped[Account] = relationship(back_populates="licenses")
    product: Mapped[Product] = relationship()


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
        sa.CheckConstraint("released_at IS NOT NULL OR (device_pseudonym IS NOT NULL AND "
                           "device_key_version IS NOT NULL AND device_jkt IS NOT NULL AND "
                           "device_public_key IS NOT NULL)", name="active_seat_identified",
                           comment="only a released seat may be de-identified"),
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True,
                                    default=lambda: new_id("act"), info=_USAGE)
    license_id: Mapped[str] = mapped_column(sa.ForeignKey("licenses.id"), info=_HOLDING)
    # HMAC of the device ID (privacy.pseudonym, domain "device"); never the raw ID.
    device_pseudonym: Mapped[str | None] = mapped_column(sa.String(64), info=_DEVICE)
    device_key_version: Mapped[int | None] = mapped_column(sa.Integer, info=_DEVICE)
    # RFC 7638 thumbprint and public key of the device's DPoP key.
    device_jkt: Mapped[str | None] = mapped_column(sa.String(64), info=_DEVICE_KEY)
    device_public_key: Mapped[str | None] = mapped_column(sa.String(64), info=_DEVICE_KEY)
    device_name: Mapped[str | None] = mapped_column(EncryptedText("seats.device_name"),
                                                    info=_LABEL)
    platform: Mapped[str | None] = mapped_column(sa.String(32), info=_LABEL)
    offline: Mapped[bool] = mapped_column(sa.Boolean, default=False, info=_USAGE)
    activated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, info=_USAGE)
    last_refresh_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=_USAGE)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True, info=_USAGE)
    release_reason: Mapped[str | None] = mapped_column(sa.String(32), info=_USAGE)
    # Where the last activation or refresh came from: country, and a /24 or /48 prefix
    # (never the address) kept 30 days from ip_prefix_at.
    country: Mapped[str | None] = mapped_column(
        sa.String(2), info=personal("network.country", LICENSE_REFRESH))
    ip_prefix: Mapped[str | None] = mapped_column(
        sa.String(43), info=personal("network.ip_prefix", LICENSE_REFRESH))
    ip_prefix_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), index=True, info=personal("network.ip_prefix", LICENSE_REFRESH))

    license: Mapped[License] = relationship()


class ActivationCode(db.Model):
    """A single-use code that activates one seat of a license."""

    __tablename__ = "activation_codes"

    id: Mapped[int] = mapped_column(primary_key=True, info=_CODE)
    license_id: Mapped[str] = mapped_column(sa.ForeignKey("licenses.id"), info=_HOLDING)
    # HMAC of the normalised code (domain "activation-code"); never the code.
    code_hmac: Mapped[str] = mapped_column(sa.String(64), unique=True, info=_CODE)
    key_version: Mapped[int] = mapped_column(sa.Integer, info=_CODE)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True, info=_CODE)
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=_CODE)
    # The seat may go before the code (retention): the link is then cleared, through an
    # index, or every deleted seat would scan the codes.
    seat_id: Mapped[str | None] = mapped_column(sa.ForeignKey("seats.id", ondelete="SET NULL"),
                                                index=True, info=_CODE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, info=_CODE)

    license: Mapped[License] = relationship()


class SigningKey(db.Model):
    """An Ed25519 lease-signing key; the private half is sealed by the vault."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(sa.String(64), primary_key=True, info=_SIGNING)
    public_key: Mapped[str] = mapped_column(sa.String(64), info=_SIGNING)
    private_key: Mapped[str] = mapped_column(EncryptedText("signing_keys.private_key"),
                                             info=_SIGNING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, info=_SIGNING)
    # Published from creation; signs from activates_at, so every cache has seen it first.
    activates_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, info=_SIGNING)
    # Set when a newer key takes over: stays published until its last lease expires.
    published_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=_SIGNING)


class Staff(db.Model):
    """A member of staff with one role and a bearer token kept only as HMAC."""

    __tablename__ = "staff"
    __table_args__ = (sa.CheckConstraint(_in("role", STAFF_ROLES), name="role_known"),)

    id: Mapped[int] = mapped_column(primary_key=True, info=_STAFF)
    name: Mapped[str] = mapped_column(sa.String(120), info=_STAFF)
    role: Mapped[str] = mapped_column(sa.String(16), info=_STAFF)
    token_hmac: Mapped[str] = mapped_column(sa.String(64), unique=True, info=_STAFF)
    key_version: Mapped[int] = mapped_column(sa.Integer, info=_STAFF)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, info=_STAFF)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=_STAFF)


class CustomerSession(db.Model):
    """A Customer Area sign-in: a bearer token kept only as HMAC, until it expires."""

    __tablename__ = "customer_sessions"

    id: Mapped[int] = mapped_column(primary_key=True, info=_SESSION)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), index=True,
                                            info=_ACCOUNT_ID)
    # HMAC of the token (domain "session-token"); never the token.
    token_hmac: Mapped[str] = mapped_column(sa.String(64), unique=True, info=_SESSION)
    key_version: Mapped[int] = mapped_column(sa.Integer, info=_SESSION)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, info=_SESSION)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True, info=_SESSION)


class SpentProof(db.Model):
    """A DPoP proof id seen within the replay window (shared by all workers)."""

    __tablename__ = "spent_proofs"

    # SHA-256 of the jti: a fixed width whatever the client sent.
    jti_hash: Mapped[str] = mapped_column(
        sa.String(64), primary_key=True,
        info=not_personal("hash of a random one-time proof id; links to no seat"))
    expires_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), index=True, info=not_personal("end of the replay window"))
