"""Products, the licenses that grant their seats, and activation codes."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.database import UTCDateTime, db, new_id, one_of, utcnow
from licensing.declarations import ACCOUNT_ID, CATALOGUE, CODE, HOLDING

if TYPE_CHECKING:  # relationships across domains resolve by name at run time
    from licensing.accounts.models import Account


LICENSE_KINDS = ("perpetual", "subscription", "trial")
LICENSE_STATUSES = ("active", "suspended", "revoked")
SEAT_MODES = ("node_locked", "floating")
FINGERPRINT_MATCHES = ("exact", "most", "any")
DEFAULT_MAX_BORROW_SECONDS = 7 * 86400


class Product(db.Model):
    """A desktop product that activates against Tessera."""

    __tablename__ = "products"
    __table_args__ = (sa.CheckConstraint(one_of("fingerprint_match", FINGERPRINT_MATCHES),
                                         name="fingerprint_match_known"),)

    id: Mapped[int] = mapped_column(primary_key=True, info=CATALOGUE)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True, info=CATALOGUE)
    name: Mapped[str] = mapped_column(sa.String(200), info=CATALOGUE)
    # How a device whose fingerprint changed may keep its seat by its components
    # (licensing.activation.components).
    fingerprint_match: Mapped[str] = mapped_column(sa.String(8), default="exact",
                                                   server_default="exact", info=CATALOGUE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, info=CATALOGUE)


class License(db.Model):
    """The right of one account to use a product on a number of devices."""

    __tablename__ = "licenses"
    __table_args__ = (
        sa.CheckConstraint("seats >= 1", name="seats_positive",
                           comment="a license grants at least one seat"),
        sa.CheckConstraint(one_of("kind", LICENSE_KINDS), name="kind_known"),
        sa.CheckConstraint(one_of("status", LICENSE_STATUSES), name="status_known"),
        sa.CheckConstraint(one_of("seat_mode", SEAT_MODES), name="seat_mode_known"),
        sa.CheckConstraint("max_borrow_seconds > 0", name="max_borrow_positive"),
        sa.CheckConstraint("lease_seconds > 0 AND offline_lease_seconds > 0 "
                           "AND grace_seconds >= 0", name="durations_valid"),
        sa.Index("ix_licenses_account_product", "account_id", "product_id"),
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True,
                                    default=lambda: new_id("lic"), info=HOLDING)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), info=ACCOUNT_ID)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), info=HOLDING)
    kind: Mapped[str] = mapped_column(sa.String(16), info=HOLDING)
    status: Mapped[str] = mapped_column(sa.String(16), default="active", info=HOLDING)
    seats: Mapped[int] = mapped_column(sa.Integer, info=HOLDING)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, info=HOLDING)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=HOLDING)
    grace_seconds: Mapped[int] = mapped_column(sa.Integer, default=14 * 86400, info=HOLDING)
    lease_seconds: Mapped[int] = mapped_column(sa.Integer, default=7 * 86400, info=HOLDING)
    offline_lease_seconds: Mapped[int] = mapped_column(sa.Integer, default=90 * 86400,
                                                       info=HOLDING)
    entitlements: Mapped[list] = mapped_column(sa.JSON, default=list, info=HOLDING)
    # node_locked: a seat is held until released. floating: only while its lease lives.
    seat_mode: Mapped[str] = mapped_column(sa.String(16), default="node_locked",
                                           server_default="node_locked", info=HOLDING)
    max_borrow_seconds: Mapped[int] = mapped_column(
        sa.Integer, default=DEFAULT_MAX_BORROW_SECONDS,
        server_default=str(DEFAULT_MAX_BORROW_SECONDS), info=HOLDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, info=HOLDING)

    account: Mapped[Account] = relationship(back_populates="licenses")
    product: Mapped[Product] = relationship()


class ActivationCode(db.Model):
    """A single-use code that activates one seat of a license."""

    __tablename__ = "activation_codes"

    id: Mapped[int] = mapped_column(primary_key=True, info=CODE)
    license_id: Mapped[str] = mapped_column(sa.ForeignKey("licenses.id"), info=HOLDING)
    # HMAC of the normalised code (domain "activation-code"); never the code.
    code_hmac: Mapped[str] = mapped_column(sa.String(64), unique=True, info=CODE)
    key_version: Mapped[int] = mapped_column(sa.Integer, info=CODE)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True, info=CODE)
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=CODE)
    # The seat may go before the code (retention): the link is then cleared, through an
    # index, or every deleted seat would scan the codes.
    seat_id: Mapped[str | None] = mapped_column(sa.ForeignKey("seats.id", ondelete="SET NULL"),
                                                index=True, info=CODE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, info=CODE)

    license: Mapped[License] = relationship()
