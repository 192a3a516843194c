"""Customer Area sessions: a bearer token for the account holder, kept only as HMAC.

A token is 256 random bits from ``secrets``, shown once. The database holds
only its keyed HMAC (domain ``session-token``), the way staff tokens and
activation codes are held, so a copy of the database opens no account. A
token is found by its HMAC under every configured pseudonym key: no secret is
compared byte by byte, and rotating the key signs nobody out.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from core.database import db, utcnow
from core.tokens import TokenKind
from licensing.accounts.models import Account, CustomerSession
from licensing.wiring import components
from privacy import pseudonym as domains
from privacy.pseudonym import Pseudonymizer
from privacy.purposes import LICENSE_ACTIVATION, processes

# Customer Area session tokens.
SESSION_TOKEN = TokenKind("tcs_")


class CustomerSessionService:
    """Open sessions for authenticated account holders, and find the account behind a token."""

    def __init__(self, session, pseudonymizer: Pseudonymizer, lifetime_seconds: int,
                 clock=utcnow):
        self._session = session
        self._pseudonyms = pseudonymizer
        self._lifetime = timedelta(seconds=lifetime_seconds)
        self._clock = clock

    @processes(LICENSE_ACTIVATION)
    def open(self, account: Account) -> tuple[str, CustomerSession]:
        """A new session for ACCOUNT; the token is returned once and stored only as HMAC."""
        token = SESSION_TOKEN.new()
        digest = self._pseudonyms.pseudonym(domains.SESSION_TOKEN, token)
        now = self._clock()
        record = CustomerSession(account_id=account.id, token_hmac=digest.value,
                                 key_version=digest.key_version, created_at=now,
                                 expires_at=now + self._lifetime)
        self._session.add(record)
        self._session.flush()
        return token, record

    @processes(LICENSE_ACTIVATION)
    def account_for(self, authorization: str | None) -> Account:
        """The live account whose unexpired session token AUTHORIZATION carries."""
        token = SESSION_TOKEN.from_header(authorization)
        digests = [p.value for p in self._pseudonyms.candidates(domains.SESSION_TOKEN, token)]
        # The look-up is by HMAC, so no secret is compared byte by byte here.
        found = self._session.execute(
            sa.select(Account, CustomerSession.expires_at)
            .join(CustomerSession, CustomerSession.account_id == Account.id)
            .where(CustomerSession.token_hmac.in_(digests))).first()
        if (found is None or found.expires_at <= self._clock()
                or found.Account.erased_at is not None):
            raise SESSION_TOKEN.invalid()
        return found.Account

    @processes(LICENSE_ACTIVATION)
    def close(self, authorization: str | None) -> None:
        """End the session AUTHORIZATION carries: its token stops working at once."""
        self.account_for(authorization)
        digests = [p.value for p in self._pseudonyms.candidates(
            domains.SESSION_TOKEN, SESSION_TOKEN.from_header(authorization))]
        self._session.execute(sa.delete(CustomerSession)
                              .where(CustomerSession.token_hmac.in_(digests))
                              .execution_options(synchronize_session=False))


def session_service() -> CustomerSessionService:
    """The session service on the request's session."""
    return CustomerSessionService(db.session, components().pseudonymizer,
                                  current_app.config["TESSERA_SESSION_SECONDS"])
