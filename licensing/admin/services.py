"""Administration: products, accounts, licenses, activation codes, staff.

One service behind both `flask admin` (licensing.admin.cli) and the admin
API (licensing.admin.views), and the ``*_record`` functions give both the
same answer, so the two cannot drift.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

import sqlalchemy as sa

from core.database import rfc3339, utcnow
from licensing import errors
from licensing.accounts.directory import ACCOUNT_ID_PREFIX, AccountDirectory
from licensing.accounts.models import Account, fold_username
from licensing.accounts.passwords import PasswordService
from licensing.activation.floating import DEFAULT_FLOATING_LEASE_SECONDS, FLOATING
from licensing.catalog.codes import generate_code
from licensing.catalog.models import (FINGERPRINT_MATCHES, LICENSE_KINDS, SEAT_MODES,
                                      ActivationCode, License, Product)
from licensing.support.models import Staff
from licensing.support.services import StaffService
from privacy import pseudonym as domains
from privacy.pseudonym import Pseudonymizer

MAX_LISTED = 200


class AdminService:
    """Create the records the desktop protocol works on."""

    def __init__(self, session, pseudonymizer: Pseudonymizer, passwords: PasswordService,
                 clock=utcnow):
        self._session = session
        self._pseudonyms = pseudonymizer
        self._passwords = passwords
        self._clock = clock

    def _exists(self, query) -> bool:
        return self._session.scalar(sa.select(query.exists())) is True

    def create_product(self, code: str, name: str, fingerprint_match: str = "exact") -> Product:
        """A new product with a unique CODE; FINGERPRINT_MATCH: exact, most or any."""
        _one_of("fingerprint_match", fingerprint_match, FINGERPRINT_MATCHES)
        if self._exists(sa.select(Product.id).where(Product.code == code)):
            raise errors.Conflict(f"Product {code!r} already exists.")
        product = Product(code=code, name=name, fingerprint_match=fingerprint_match)
        self._session.add(product)
        self._session.flush()
        return product

    def create_account(self, username: str, password: str | None, email: str, *,
                       name: str | None = None, company: str | None = None,
                       country: str | None = None) -> Account:
        """A new Customer Area account; the email goes to the vault and its blind index.

        With no PASSWORD the account gets a random one nobody knows: it is reached
        by activation codes until a password is set. Usernames are unique
        case-insensitively, and emails are unique: 409 otherwise.
        """
        if self._exists(sa.select(Account.id).where(
                Account.username_folded == fold_username(username))):
            raise errors.Conflict(f"Account {username!r} already exists.",
                                  errors={"username": ["already in use"]})
        password = password if password is not None else secrets.token_urlsafe(24)
        account = Account(username=username, password_hash=self._passwords.hash(password),
                          name=name, company=company,
                          country=country.upper() if country else None)
        AccountDirectory(self._session, self._pseudonyms).set_email(account, email)
        self._session.add(account)
        self._session.flush()
        return account

    def account(self, reference: str) -> Account:
        """The live account with the id (acc_...) or, failing that, the username REFERENCE."""
        account = None
        if reference.startswith(ACCOUNT_ID_PREFIX):
            account = self._session.get(Account, reference)
        if account is None or account.erased_at is not None:
            account = AccountDirectory(self._session, self._pseudonyms).by_username(reference)
        if account is None:
            raise errors.NotFound(f"No account {reference!r}.")
        return account

    def products(self) -> list[Product]:
        """Every product, by code."""
        return list(self._session.scalars(sa.select(Product).order_by(Product.code)))

    def product(self, code: str) -> Product:
        """The product with CODE."""
        product = self._session.scalar(sa.select(Product).where(Product.code == code))
        if product is None:
            raise errors.NotFound(f"No product {code!r}.")
        return product

    def issue_license(self, account: str, product_code: str, *, seats: int, kind: str,
                      days: int | None = None, entitlements: list[str] | None = None,
                      lease_seconds: int | None = None, grace_seconds: int | None = None,
                      offline_lease_seconds: int | None = None, seat_mode: str = "node_locked",
                      max_borrow_seconds: int | None = None) -> License:
        """A license of PRODUCT_CODE for ACCOUNT (id or username); perpetual ones never end.

        A floating license's leases last 15 minutes unless LEASE_SECONDS says otherwise.
        """
        _one_of("kind", kind, LICENSE_KINDS)
        _one_of("seat_mode", seat_mode, SEAT_MODES)
        if seat_mode == FLOATING and lease_seconds is None:
            lease_seconds = DEFAULT_FLOATING_LEASE_SECONDS
        if seats < 1:
            raise errors.ValidationFailed(errors={"seats": ["at least 1"]})
        if kind == "perpetual" and days:
            raise errors.ValidationFailed(errors={"days": ["a perpetual license has no term"]})
        if kind != "perpetual" and not days:
            days = 30 if kind == "trial" else 365
        now = self._clock()
        license = License(
            account_id=self.account(account).id, product_id=self.product(product_code).id,
            kind=kind, seats=seats, starts_at=now, status="active",
            expires_at=None if kind == "perpetual" else now + timedelta(days=days),
            entitlements=list(entitlements or []), seat_mode=seat_mode)
        for field, value in (("lease_seconds", lease_seconds), ("grace_seconds", grace_seconds),
                             ("offline_lease_seconds", offline_lease_seconds),
                             ("max_borrow_seconds", max_borrow_seconds)):
            if value is not None:
                setattr(license, field, value)
        self._session.add(license)
        self._session.flush()
        return license

    def license(self, license_id: str) -> License:
        """The license with LICENSE_ID."""
        license = self._session.get(License, license_id)
        if license is None:
            raise errors.NotFound(f"No license {license_id!r}.")
        return license

    def licenses(self, product_code: str | None = None, status: str | None = None,
                 limit: int = MAX_LISTED) -> list[License]:
        """The newest licenses, of PRODUCT_CODE and in STATUS when given."""
        query = sa.select(License).join(Product)
        if product_code:
            query = query.where(Product.code == product_code)
        if status:
            query = query.where(License.status == status)
        return list(self._session.scalars(
            query.order_by(License.starts_at.desc(), License.id).limit(min(limit, MAX_LISTED))))

    def find_licenses(self, reference: str) -> list[License]:
        """The license with the id REFERENCE, or the licenses of the account it names."""
        license = self._session.get(License, reference)
        if license is not None:
            return [license]
        account = self.account(reference)
        return list(self._session.scalars(
            sa.select(License).where(License.account_id == account.id)
            .order_by(License.starts_at.desc(), License.id)))

    def issue_code(self, license_id: str, days: int = 30) -> tuple[str, ActivationCode]:
        """A new single-use activation code; the plain code is returned once, never stored."""
        license = self.license(license_id)
        code = generate_code()
        digest = self._pseudonyms.pseudonym(domains.ACTIVATION_CODE, code.replace("-", ""))
        record = ActivationCode(license_id=license.id, code_hmac=digest.value,
                                key_version=digest.key_version,
                                expires_at=self._clock() + timedelta(days=days))
        self._session.add(record)
        self._session.flush()
        return code, record

    def renew(self, license_id: str, days: int) -> License:
        """Extend the license by DAYS from its end, or from now if it has ended."""
        license = self.license(license_id)
        if license.expires_at is None:
            raise errors.Conflict("A perpetual license has no end to renew.")
        if days < 1:
            raise errors.ValidationFailed(errors={"days": ["at least 1"]})
        license.expires_at = max(license.expires_at, self._clock()) + timedelta(days=days)
        self._session.flush()
        return license

    def suspend(self, license_id: str) -> License:
        """Suspend an active license: activation and refresh answer LICENSE_SUSPENDED."""
        return self._change_status(license_id, "suspended", allowed_from=("active", "suspended"))

    def reinstate(self, license_id: str) -> License:
        """Make a suspended license active again."""
        return self._change_status(license_id, "active", allowed_from=("suspended", "active"))

    def revoke(self, license_id: str) -> License:
        """Revoke the license for good: it cannot be reinstated."""
        return self._change_status(license_id, "revoked",
                                   allowed_from=("active", "suspended", "revoked"))

    def _change_status(self, license_id: str, status: str, allowed_from: tuple[str, ...]):
        license = self._session.get(License, license_id, with_for_update=True)
        if license is None:
            raise errors.NotFound(f"No license {license_id!r}.")
        if license.status not in allowed_from:
            raise errors.Conflict(f"A {license.status} license cannot become {status}.")
        license.status = status
        self._session.flush()
        return license

    def create_staff(self, name: str, role: str,
                     password: str | None = None) -> tuple[str, Staff]:
        """A staff member; the bearer token is returned once, stored only as HMAC."""
        return self._staff().create(name, role, password)

    def disable_staff(self, reference: int | str) -> Staff:
        """Disable the staff member with this id or name: tokens revoked, sessions ended."""
        staff = self._staff()
        found = staff.get(reference) if isinstance(reference, int) else staff.named(reference)
        return staff.disable(found)

    def staff_members(self) -> list[Staff]:
        """Every staff member, by name (disabled ones included)."""
        return list(self._session.scalars(sa.select(Staff).order_by(Staff.name)))

    def _staff(self) -> StaffService:
        return StaffService(self._session, self._pseudonyms, self._passwords, self._clock)


def product_record(product: Product) -> dict:
    """A product as `flask admin` and the admin API show it."""
    return {"id": product.id, "code": product.code, "name": product.name,
            "fingerprint_match": product.fingerprint_match}


def account_record(account: Account) -> dict:
    """An account as `flask admin` and the admin API show it (the creator typed it all)."""
    return {"id": account.id, "username": account.username, "email": account.email,
            "name": account.name, "company": account.company, "country": account.country,
            "created_at": rfc3339(account.created_at)}


def license_record(license: License) -> dict:
    """A license as `flask admin` and the admin API show it."""
    return {"id": license.id, "account": license.account_id, "product": license.product.code,
            "kind": license.kind, "status": license.status, "seats": license.seats,
            "starts_at": rfc3339(license.starts_at), "expires_at": rfc3339(license.expires_at),
            "entitlements": list(license.entitlements or []),
            "lease_seconds": license.lease_seconds, "grace_seconds": license.grace_seconds,
            "offline_lease_seconds": license.offline_lease_seconds,
            "seat_mode": license.seat_mode, "max_borrow_seconds": license.max_borrow_seconds}


def staff_record(staff: Staff) -> dict:
    """A staff member as `flask admin` and the admin API show them (no secret)."""
    return {"id": staff.id, "name": staff.name, "role": staff.role,
            "totp": staff.totp_secret is not None, "created_at": rfc3339(staff.created_at),
            "disabled_at": rfc3339(staff.disabled_at)}


def _one_of(field: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise errors.ValidationFailed(errors={field: [f"one of {', '.join(allowed)}"]})
