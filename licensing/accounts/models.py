"""Customer Area accounts and their sign-in sessions."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from core.database import UTCDateTime, db, new_id, utcnow
from licensing.declarations import ACCOUNT_ID, ACCOUNT_RECORD, CONTACT, SESSION
from privacy.purposes import EXPORT_COMPLIANCE, LICENSE_ACTIVATION, SUPPORT, personal
from privacy.vault import EncryptedText

if TYPE_CHECKING:  # relationships across domains resolve by name at run time
    from licensing.catalog.models import License


SCREENING = personal("screening.result", EXPORT_COMPLIANCE)


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
                                    default=lambda: new_id("acc"), info=ACCOUNT_ID)
    # NULL once erased; usernames of live accounts stay unique.
    username: Mapped[str | None] = mapped_column(sa.String(150), unique=True, info=ACCOUNT_ID)
    # The username as every look-up compares it (fold_username): "Alice" and "alice " are
    # one account at sign-in, in the rate limits and in support, so they can be only one.
    username_folded: Mapped[str | None] = mapped_column(sa.String(150), unique=True,
                                                        info=ACCOUNT_ID)
    password_hash: Mapped[str | None] = mapped_column(
        sa.String(255), info=personal("account.credential", LICENSE_ACTIVATION))
    email: Mapped[str | None] = mapped_column(EncryptedText("accounts.email"), info=CONTACT)
    # HMAC blind index of the normalised email, for look-up without decrypting. Unique:
    # a look-up by email (an erasure, the access log) must name one person.
    email_index: Mapped[str | None] = mapped_column(sa.String(64), unique=True, info=CONTACT)
    email_index_version: Mapped[int | None] = mapped_column(sa.Integer, info=CONTACT)
    name: Mapped[str | None] = mapped_column(EncryptedText("accounts.name"), info=CONTACT)
    company: Mapped[str | None] = mapped_column(EncryptedText("accounts.company"), info=CONTACT)
    country: Mapped[str | None] = mapped_column(sa.String(2),
                                                info=personal("account.country", SUPPORT))
    restricted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=ACCOUNT_RECORD)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                 info=ACCOUNT_RECORD)
    # Set by an erasure: the row stays (licenses point at it) with nothing identifying.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=ACCOUNT_RECORD)

    # The last denied-party screening of the account (licensing.compliance.checks): the
    # list it was made against, when, and the hit ({"list", "score"}) or NULL when clear.
    # A refresh reads the verdict with its seat instead of screening again.
    screened_against: Mapped[str | None] = mapped_column(sa.String(64), info=SCREENING)
    screened_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=SCREENING)
    screening_match: Mapped[dict | None] = mapped_column(sa.JSON(none_as_null=True),
                                                                  info=SCREENING)

    licenses: Mapped[list[License]] = relationship(back_populates="account")

    @validates("username")
    def _fold(self, _key, username: str | None) -> str | None:
        self.username_folded = None if username is None else fold_username(username)
        return username

    @validates("name", "company", "country")
    def _rescreen(self, _key, value: str | None) -> str | None:
        # What was screened changed: the next activation or refresh screens again.
        self.screened_against = None
        return value


def fold_username(username: str) -> str:
    """The form usernames are compared in: trimmed, NFKC-normalised, case-folded."""
    return unicodedata.normalize("NFKC", username.strip()).casefold()


class CustomerSession(db.Model):
    """A Customer Area sign-in: a bearer token kept only as HMAC, until it expires."""

    __tablename__ = "customer_sessions"

    id: Mapped[int] = mapped_column(primary_key=True, info=SESSION)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), index=True,
                                            info=ACCOUNT_ID)
    # HMAC of the token (domain "session-token"); never the token.
    token_hmac: Mapped[str] = mapped_column(sa.String(64), unique=True, info=SESSION)
    key_version: Mapped[int] = mapped_column(sa.Integer, info=SESSION)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, info=SESSION)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True, info=SESSION)
