"""Support's look-ups and actions: minimised answers, each logged with its reason.

Every method acts for one ``Access`` (staff member, purpose ``support``,
reason) and writes exactly one access-log entry per account whose data it
reads or changes; a look-up that finds nobody reads nobody's data and logs
nothing. Answers carry what support needs and no more: the email masked,
and never an IP prefix, a pseudonym, a device key or a raw fingerprint (the
fingerprint asked for is pseudonymised here and goes no further). An account
whose processing is restricted (GDPR Art 18) shows ``restricted: true``, and
actions that would process its data are refused.

The methods return the answers as plain data, so the JSON views and the
console pages show the same thing.
"""

from __future__ import annotations

import sqlalchemy as sa

from core.database import rfc3339, utcnow
from licensing import errors
from licensing.accounts.directory import AccountDirectory
from licensing.accounts.models import Account
from licensing.activation.models import Seat
from licensing.activation import seats
from licensing.admin.services import AdminService
from licensing.catalog.models import License, Product
from privacy import pseudonym as domains
from privacy.audit import Access, AccessAuditService
from privacy.pseudonym import Pseudonymizer
from privacy.purposes import SUPPORT, processes

DEFAULT_CODE_DAYS = 30


def masked_email(email: str | None) -> str | None:
    """The first character, ``***`` and the domain: enough to confirm, not to contact."""
    if not email:
        return None
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def activation_view(seat: Seat) -> dict:
    """A seat as support sees it: no pseudonym, key, IP prefix or fingerprint."""
    return {"id": seat.id, "device_name": seat.device_name, "platform": seat.platform,
            "country": seat.country, "offline": bool(seat.offline),
            "activated_at": rfc3339(seat.activated_at),
            "last_refresh_at": rfc3339(seat.last_refresh_at),
            "released_at": rfc3339(seat.released_at)}


class SupportService:
    """Find accounts, licenses and devices for support, and act on them."""

    def __init__(self, session, pseudonymizer: Pseudonymizer, audit: AccessAuditService,
                 access: Access, admin: AdminService, clock=utcnow):
        self._session = session
        self._pseudonyms = pseudonymizer
        self._audit = audit
        self._access = access
        self._admin = admin
        self._clock = clock

    @processes(SUPPORT)
    def accounts_by_username(self, username: str) -> list[dict]:
        """The live account with exactly USERNAME, as a list of zero or one."""
        account = self._session.scalar(sa.select(Account).where(Account.username == username))
        return self._accounts([account] if account is not None else [])

    @processes(SUPPORT)
    def accounts_by_email(self, email: str) -> list[dict]:
        """The live account with EMAIL, found through the blind index."""
        account = AccountDirectory(self._session, self._pseudonyms).by_email(email)
        return self._accounts([account] if account is not None else [])

    @processes(SUPPORT)
    def license(self, license_id: str) -> dict:
        """One license, its holder's id and username, and all its activations."""
        license = self._license(license_id)
        activations = self._session.scalars(
            sa.select(Seat).where(Seat.license_id == license.id)
            .order_by(Seat.activated_at, Seat.id))
        self._log(license.account_id, "support.license.read")
        account = license.account
        return {**self._license_view(license), "starts_at": rfc3339(license.starts_at),
                "account": {"id": account.id, "username": account.username,
                            "restricted": account.restricted_at is not None},
                "activations": [activation_view(seat) for seat in activations]}

    @processes(SUPPORT)
    def devices(self, product: str, fingerprint: str) -> list[dict]:
        """Activations of PRODUCT by the device whose ID is FINGERPRINT (pseudonymised here)."""
        candidates = [p.value for p in self._pseudonyms.candidates(domains.DEVICE, fingerprint)]
        found = list(self._session.scalars(
            sa.select(Seat).join(License, Seat.license_id == License.id)
            .join(Product, License.product_id == Product.id)
            .where(Product.code == product, Seat.device_pseudonym.in_(candidates))
            .order_by(Seat.activated_at, Seat.id)))
        for account_id in sorted({seat.license.account_id for seat in found}):
            self._log(account_id, "support.device.lookup")
        return [{**activation_view(seat), "license": seat.license_id} for seat in found]

    @processes(SUPPORT)
    def release(self, activation_id: str) -> dict:
        """Release a seat for its holder (idempotent), e.g. of a lost or air-gapped device."""
        seat = seats.locked_seat(self._session, activation_id)
        self._check_not_restricted(seat.license.account)
        seats.release(seat, seats.SUPPORT, self._clock())
        self._log(seat.license.account_id, "support.activation.release")
        return {"activation_id": seat.id, "released_at": rfc3339(seat.released_at)}

    @processes(SUPPORT)
    def issue_code(self, license_id: str, days: int | None = None) -> dict:
        """A fresh single-use activation code for the license, shown once."""
        license = self._license(license_id)
        self._check_not_restricted(license.account)
        if license.account.erased_at is not None:
            raise errors.Conflict("The license's account has been erased.")
        code, record = self._admin.issue_code(license.id, days or DEFAULT_CODE_DAYS)
        self._log(license.account_id, "support.license.code")
        return {"code": code, "expires_at": rfc3339(record.expires_at)}

    def _accounts(self, accounts: list[Account]) -> list[dict]:
        answers = []
        for account in accounts:
            self._log(account.id, "support.account.lookup")
            answers.append({
                "id": account.id, "username": account.username,
                "email": masked_email(account.email), "country": account.country,
                "restricted": account.restricted_at is not None,
                "licenses": [self._license_view(lic) for lic in self._licenses_of(account)]})
        return answers

    def _licenses_of(self, account: Account) -> list[License]:
        return list(self._session.scalars(
            sa.select(License).where(License.account_id == account.id)
            .order_by(License.created_at, License.id)))

    def _license(self, license_id: str) -> License:
        license = self._session.get(License, license_id)
        if license is None:
            raise errors.NotFound("No such license.")
        return license

    def _license_view(self, license: License) -> dict:
        return {"id": license.id, "product": license.product.code, "kind": license.kind,
                "status": license.status, "seats": license.seats,
                "seats_used": self._seats_used(license.id),
                "expires_at": rfc3339(license.expires_at)}

    def _seats_used(self, license_id: str) -> int:
        return self._session.scalar(sa.select(sa.func.count(Seat.id)).where(
            Seat.license_id == license_id, Seat.released_at.is_(None)))

    @staticmethod
    def _check_not_restricted(account: Account) -> None:
        if account.restricted_at is not None:
            raise errors.AccountRestricted()

    def _log(self, account_id: str, action: str) -> None:
        self._audit.record(self._access, account_id, action)
