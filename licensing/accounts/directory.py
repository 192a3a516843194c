"""Finding accounts: by username, id, or email through the HMAC blind index.

Emails are sealed in the vault and cannot be searched; each account keeps an
HMAC of its normalised email (``email_index``) with the pseudonym key version
that made it. A look-up tries every configured version, newest first, and an
account found under an older version is re-indexed under the current one.
"""

from __future__ import annotations

from typing import Iterator

import sqlalchemy as sa

from core.database import keyset_batches
from licensing.accounts.models import Account
from privacy import pseudonym as domains
from privacy.audit import Access, AccessAuditService
from privacy.pseudonym import Pseudonymizer
from privacy.purposes import SUPPORT, processes

ACCOUNT_ID_PREFIX = "acc_"


def normalize_email(email: str) -> str:
    """The form of an email address its blind index is computed on."""
    return email.strip().lower()


class AccountDirectory:
    """Look accounts up without ever filtering on a sealed column."""

    def __init__(self, session, pseudonymizer: Pseudonymizer):
        self._session = session
        self._pseudonyms = pseudonymizer

    def find(self, reference: str) -> Account | None:
        """The live account a username, account id or email names."""
        reference = reference.strip()
        if "@" in reference:
            return self.by_email(reference)
        if reference.startswith(ACCOUNT_ID_PREFIX):
            account = self._session.get(Account, reference)
            if account is not None and account.erased_at is None:
                return account
        return self._session.scalar(sa.select(Account).where(Account.username == reference))

    @processes(SUPPORT)
    def by_email(self, email: str) -> Account | None:
        """The live account whose email is EMAIL (case and spaces ignored)."""
        candidates = self._pseudonyms.candidates(domains.EMAIL, normalize_email(email))
        account = self._session.scalars(
            sa.select(Account).where(Account.email_index.in_([c.value for c in candidates]),
                                     Account.erased_at.is_(None))
            .order_by(Account.created_at).limit(1)).first()
        if account is not None and account.email_index_version != self._pseudonyms.current_version:
            self._index(account, account.email)
        return account

    def lookup_by_email(self, email: str, access: Access, audit: AccessAuditService,
                        action: str = "account.lookup") -> Account | None:
        """Find by EMAIL for a person, recording the read in the access log."""
        account = self.by_email(email)
        if account is not None:
            audit.record(access, account.id, action)
        return account

    def set_email(self, account: Account, email: str | None) -> None:
        """Change ACCOUNT's email and its blind index together."""
        account.email = email
        self._index(account, email)

    def _index(self, account: Account, email: str | None) -> None:
        if email is None:
            account.email_index = account.email_index_version = None
            return
        index = self._pseudonyms.pseudonym(domains.EMAIL, normalize_email(email))
        account.email_index, account.email_index_version = index.value, index.key_version

    def stale_index_count(self) -> int:
        """Accounts whose email is indexed under an older pseudonym key."""
        return self._session.scalar(sa.select(sa.func.count(Account.id)).where(
            *self._stale()))

    def _stale(self):
        return (Account.email.isnot(None),
                sa.or_(Account.email_index_version.is_(None),
                       Account.email_index_version != self._pseudonyms.current_version))

    def reindex_batches(self, batch_size: int = 500) -> Iterator[int]:
        """Re-index stale blind indexes a batch at a time; commit after each yield."""
        def reindex(after, limit: int) -> list[str]:
            accounts = list(self._session.scalars(
                sa.select(Account).where(Account.id > (after or ""), *self._stale())
                .order_by(Account.id).limit(limit)))
            for account in accounts:
                self._index(account, account.email)
            self._session.flush()
            return [account.id for account in accounts]
        return keyset_batches(reindex, batch_size)
