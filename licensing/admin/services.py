"""Administration: products, accounts, licenses, activation codes, staff."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from core.database import utcnow
from licensing import errors
from licensing.support.staff import STAFF_TOKEN
from licensing.accounts.directory import AccountDirectory
from licensing.accounts.models import Account
from licensing.accounts.passwords import PasswordService
from licensing.catalog.codes import generate_code
from licensing.catalog.models import LICENSE_KINDS, ActivationCode, License, Product
from licensing.support.models import STAFF_ROLES, Staff
from privacy import pseudonym as domains
from privacy.pseudonym import Pseudonymizer


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

    def create_product(self, code: str, name: str) -> Product:
        """A new product with a unique CODE."""
        if self._exists(sa.select(Product.id).where(Product.code == code)):
            raise errors.Conflict(f"Product {code!r} already exists.")
        product = Product(code=code, name=name)
        self._session.add(product)
        self._session.flush()
        return product

    def create_account(self, username: str, password: str, email: str, *,
                       name: str | None = None, company: str | None = None,
                       country: str | None = None) -> Account:
        """A new Customer Area account; the email goes to the vault and its blind index."""
        if self._exists(sa.select(Account.id).where(Account.username == username)):
            raise errors.Conflict(f"Account {username!r} already exists.")
        account = Account(username=username, password_hash=self._passwords.hash(password),
                          name=name, company=company,
                          country=country.upper() if country else None)
        AccountDirectory(self._session, self._pseudonyms).set_email(account, email)
        self._session.add(account)
        self._session.flush()
        return account

    def account(self, username: str) -> Account:
        """The account named USERNAME."""
        account = self._session.scalar(sa.select(Account).where(Account.username == username))
        if account is None:
            raise errors.NotFound(f"No account {username!r}.")
        return account

    def product(self, code: str) -> Product:
        """The product with CODE."""
        product = self._session.scalar(sa.select(Product).where(Product.code == code))
        if product is None:
            raise errors.NotFound(f"No product {code!r}.")
        return product

    def issue_license(self, username: str, product_code: str, *, seats: int, kind: str,
                      days: int | None = None, entitlements: list[str] | None = None,
                      lease_seconds: int | None = None, grace_seconds: int | None = None,
                      offline_lease_seconds: int | None = None) -> License:
        """A license of PRODUCT_CODE for USERNAME; perpetual licenses never end."""
        if kind not in LICENSE_KINDS:
            raise errors.ValidationFailed(errors={"kind": [f"one of {', '.join(LICENSE_KINDS)}"]})
        if seats < 1:
            raise errors.ValidationFailed(errors={"seats": ["at least 1"]})
        if kind != "perpetual" and not days:
            days = 30 if kind == "trial" else 365
        now = self._clock()
        license = License(
            account_id=self.account(username).id, product_id=self.product(product_code).id,
            kind=kind, seats=seats, starts_at=now, status="active",
            expires_at=None if kind == "perpetual" else now + timedelta(days=days),
            entitlements=list(entitlements or []))
        for field, value in (("lease_seconds", lease_seconds), ("grace_seconds", grace_seconds),
                             ("offline_lease_seconds", offline_lease_seconds)):
            if value is not None:
                setattr(license, field, value)
        self._session.add(license)
        self._session.flush()
        return license

    def issue_code(self, license_id: str, days: int = 30) -> tuple[str, ActivationCode]:
        """A new single-use activation code; the plain code is returned once, never stored."""
        license = self._session.get(License, license_id)
        if license is None:
            raise errors.NotFound(f"No license {license_id!r}.")
        code = generate_code()
        digest = self._pseudonyms.pseudonym(domains.ACTIVATION_CODE, code.replace("-", ""))
        record = ActivationCode(license_id=license.id, code_hmac=digest.value,
                                key_version=digest.key_version,
                                expires_at=self._clock() + timedelta(days=days))
        self._session.add(record)
        self._session.flush()
        return code, record

    def create_staff(self, name: str, role: str) -> tuple[str, Staff]:
        """A staff member; the bearer token is returned once, stored only as HMAC."""
        if role not in STAFF_ROLES:
            raise errors.ValidationFailed(errors={"role": [f"one of {', '.join(STAFF_ROLES)}"]})
        token = STAFF_TOKEN.new()
        digest = self._pseudonyms.pseudonym(domains.STAFF_TOKEN, token)
        staff = Staff(name=name, role=role, token_hmac=digest.value, key_version=digest.key_version)
        self._session.add(staff)
        self._session.flush()
        return token, staff
