"""What licensing holds about an account holder, declared to the privacy engine.

One provider for the subject kind ``account`` — how to find, export,
rectify, erase and restrict an account's data — and the retention rules of
the licensing tables, Customer Area sessions included. ``register`` hands
both to ``privacy``; ``privacy`` never imports this package.
"""

from __future__ import annotations

from typing import Iterator, Mapping

import sqlalchemy as sa

from core.database import rfc3339, utcnow
from licensing import errors
from licensing.accounts.directory import AccountDirectory
from licensing.accounts.models import Account, CustomerSession
from licensing.activation.models import Seat, SpentProof
from licensing.activation.seats import ERASED, release_where
from licensing.catalog.models import ActivationCode, License, Product
from licensing.support.models import Staff
from privacy.providers import ACCOUNT, ErasureOutcome, Kept, ProviderRegistry
from privacy.pseudonym import Pseudonymizer
from privacy.purposes import (LICENSE_ACTIVATION, LICENSE_COMPLIANCE, LICENSE_REFRESH,
                              PRIVACY_RIGHTS, STAFF_ACCESS, SUPPORT, processes)
from privacy.retention import RetentionRule

NAME = "licensing"
RECTIFIABLE = ("email", "name", "company", "country")

_seats = Seat.__table__
_DEVICE_COLUMNS = ("device_pseudonym", "device_key_version", "device_jkt", "device_public_key",
                   "device_name", "platform", "country", "ip_prefix", "ip_prefix_at")
# What de-identifying a seat clears: every column that could single out a device or person.
DEIDENTIFIED_SEAT = {column: None for column in _DEVICE_COLUMNS}

RETENTION_RULES = (
    RetentionRule(
        "seats.ip_prefix", _seats, lambda cutoff: _seats.c.ip_prefix_at < cutoff,
        purpose=LICENSE_REFRESH, period="ip_prefix",
        clear={"ip_prefix": None, "ip_prefix_at": None},
        description="IP prefixes recorded more than 30 days ago"),
    RetentionRule(
        "seats.released", _seats,
        lambda cutoff: sa.and_(_seats.c.released_at < cutoff, _seats.c.device_jkt.isnot(None)),
        purpose=LICENSE_ACTIVATION, period="released_seat", clear=DEIDENTIFIED_SEAT,
        description="device data of seats released more than 90 days ago"),
    RetentionRule(
        "seats.history", _seats, lambda cutoff: _seats.c.released_at < cutoff,
        purpose=LICENSE_COMPLIANCE, period="seat_history",
        description="de-identified seat rows released more than 24 months ago"),
    RetentionRule(
        "activation_codes.expired", ActivationCode.__table__,
        lambda cutoff: ActivationCode.__table__.c.expires_at < cutoff,
        purpose=LICENSE_ACTIVATION, period="activation_code",
        description="activation codes past their expiry"),
    RetentionRule(
        "customer_sessions.expired", CustomerSession.__table__,
        lambda cutoff: CustomerSession.__table__.c.expires_at < cutoff,
        purpose=LICENSE_ACTIVATION, period="session",
        description="Customer Area sessions past their expiry"),
    RetentionRule(
        "staff.disabled", Staff.__table__,
        lambda cutoff: Staff.__table__.c.disabled_at < cutoff,
        purpose=STAFF_ACCESS, period="disabled_staff",
        description="staff disabled more than 12 months ago"),
    RetentionRule(
        "spent_proofs.expired", SpentProof.__table__,
        lambda cutoff: SpentProof.__table__.c.expires_at < cutoff, days=0,
        description="DPoP replay-cache entries past their window"),
)


class LicensingPersonalData:
    """Accounts, their licenses, seats and codes, for one subject at a time."""

    name = NAME
    subject_kind = ACCOUNT

    def __init__(self, session, pseudonymizer: Pseudonymizer, clock=utcnow):
        self._session = session
        self._directory = AccountDirectory(session, pseudonymizer)
        self._clock = clock

    def _account(self, subject_id: str) -> Account:
        account = self._session.get(Account, subject_id)
        if account is None:
            raise errors.NotFound("No such account.")
        return account

    def _licenses_of(self, subject_id: str):
        return sa.select(License.id).where(License.account_id == subject_id)

    def find_subject(self, reference: str) -> str | None:
        """The account id for a username, an account id or an email."""
        account = self._directory.find(reference)
        return account.id if account is not None else None

    def subject_ids(self) -> Iterator[str]:
        """Ids of every account not yet erased, streamed."""
        yield from self._session.scalars(
            sa.select(Account.id).where(Account.erased_at.is_(None)).order_by(Account.id)
            .execution_options(yield_per=1000))

    def identifying_values(self, subject_id: str) -> list[str]:
        """Username, email, name and company: what staff might type into a reason."""
        account = self._session.get(Account, subject_id)
        if account is None:
            return []
        return [v for v in (account.username, account.email, account.name, account.company)
                if v]

    @processes(PRIVACY_RIGHTS)
    def export(self, subject_id: str) -> dict:
        """The account, its licenses, seats and sign-in sessions, as JSON-ready data.

        Rows are read as plain columns, not ORM objects, in one query per table:
        an account may hold tens of thousands of seats, and building an object
        per seat cost more than the query.
        """
        account = self._account(subject_id)
        licenses = self._session.execute(
            sa.select(*_LICENSE_EXPORT).join(Product, License.product_id == Product.id)
            .where(License.account_id == subject_id)
            .order_by(License.created_at, License.id))
        # Core, not the ORM: these are plain rows, and the ORM's row handling was a
        # third of the export's time at ten thousand seats.
        seats = self._session.connection().execute(
            sa.select(*_SEAT_EXPORT).join(License, Seat.license_id == License.id)
            .where(License.account_id == subject_id).order_by(Seat.activated_at, Seat.id)).all()
        sessions = self._session.execute(
            sa.select(CustomerSession.created_at, CustomerSession.expires_at)
            .where(CustomerSession.account_id == subject_id)
            .order_by(CustomerSession.created_at))
        return {
            "account": {"id": account.id, "username": account.username, "email": account.email,
                        "name": account.name, "company": account.company,
                        "country": account.country, "created_at": rfc3339(account.created_at),
                        "restricted_at": rfc3339(account.restricted_at),
                        "password": "stored only as an argon2id hash" if account.password_hash
                        else None},
            "licenses": [{"id": lic.id, "product": lic.code, "kind": lic.kind,
                          "status": lic.status, "seats": lic.seats,
                          "starts_at": rfc3339(lic.starts_at),
                          "expires_at": rfc3339(lic.expires_at),
                          "entitlements": list(lic.entitlements or [])}
                         for lic in licenses],
            "seats": [_seat_export(seat) for seat in seats],
            "sessions": [{"created_at": rfc3339(created), "expires_at": rfc3339(expires),
                          "token": "stored only as a keyed HMAC"}
                         for created, expires in sessions],
        }

    @processes(SUPPORT)
    def rectify(self, subject_id: str, changes: Mapping[str, str | None]) -> list[str]:
        """Correct email, name, company or country; the email's blind index follows."""
        unknown = sorted(set(changes) - set(RECTIFIABLE))
        if unknown:
            raise errors.ValidationFailed(errors={f: ["cannot be rectified"] for f in unknown})
        account = self._account(subject_id)
        changed = [field for field, value in changes.items() if getattr(account, field) != value]
        for field in changed:
            value = changes[field]
            if field == "email":
                self._directory.set_email(account, value)
            elif field == "country":
                account.country = value.upper() if value else None
            else:
                setattr(account, field, value)
        self._session.flush()
        return changed

    @processes(PRIVACY_RIGHTS)
    def erase(self, subject_id: str) -> ErasureOutcome:
        """Erase the account's personal data, release and de-identify its seats."""
        account = self._session.get(Account, subject_id, with_for_update=True)
        if account is None or account.erased_at is not None:
            return ErasureOutcome()
        now = self._clock()
        seats = Seat.license_id.in_(self._licenses_of(subject_id))
        released = release_where(self._session, seats, ERASED, now)
        self._session.execute(sa.update(Seat).where(seats).values(**DEIDENTIFIED_SEAT)
                              .execution_options(synchronize_session=False))
        # An unused code would let a new device bind to the erased account's license.
        codes = self._session.execute(
            sa.delete(ActivationCode).where(
                ActivationCode.license_id.in_(self._licenses_of(subject_id)),
                ActivationCode.redeemed_at.is_(None))
            .execution_options(synchronize_session=False)).rowcount
        # A token handed out before the erasure must not open what is left of the account.
        sessions = self._session.execute(
            sa.delete(CustomerSession).where(CustomerSession.account_id == subject_id)
            .execution_options(synchronize_session=False)).rowcount
        for field in ("username", "password_hash", "email", "email_index",
                      "email_index_version", "name", "company", "country", "restricted_at"):
            setattr(account, field, None)
        account.erased_at = now
        self._session.flush()
        return ErasureOutcome(
            erased=["username and password", "email, name and company", "country",
                    f"device data of the account's seats ({released} released now)",
                    f"{codes} unused activation code(s)",
                    f"{sessions} Customer Area session(s)"],
            kept=[Kept("licenses and de-identified seat rows (license, activation and release "
                       "times; nothing that identifies a person or device)",
                       LICENSE_COMPLIANCE, "counts of activations per license",
                       until="24 months after each seat's release")])

    def restricted(self, subject_id: str) -> bool:
        """Whether the account's processing is restricted (activation and refresh refused)."""
        return self._account(subject_id).restricted_at is not None

    @processes(PRIVACY_RIGHTS)
    def restrict(self, subject_id: str, restricted: bool) -> None:
        """Mark the account restricted (activation and refresh refused), or lift that."""
        account = self._account(subject_id)
        if restricted and account.restricted_at is None:
            account.restricted_at = self._clock()
        elif not restricted:
            account.restricted_at = None
        self._session.flush()


_LICENSE_EXPORT = (License.id, Product.code, License.kind, License.status, License.seats,
                   License.starts_at, License.expires_at, License.entitlements)
_SEAT_EXPORT = (Seat.id, Seat.license_id, Seat.device_name, Seat.platform, Seat.offline,
                Seat.activated_at, Seat.last_refresh_at, Seat.released_at, Seat.release_reason,
                Seat.country, Seat.ip_prefix,
                Seat.device_pseudonym.isnot(None).label("pseudonymised"))


def _seat_export(row: sa.Row) -> dict:
    (seat_id, license_id, device_name, platform, offline, activated_at, last_refresh_at,
     released_at, release_reason, country, ip_prefix, pseudonymised) = row
    return {"activation_id": seat_id, "license": license_id, "device_name": device_name,
            "platform": platform, "offline": bool(offline),
            "activated_at": rfc3339(activated_at), "last_refresh_at": rfc3339(last_refresh_at),
            "released_at": rfc3339(released_at), "release_reason": release_reason,
            "country": country, "ip_prefix": ip_prefix,
            "device_id": "stored only as a keyed pseudonym" if pseudonymised else None}


def register(providers: ProviderRegistry, pseudonymizer: Pseudonymizer) -> None:
    """Declare licensing's personal data and retention rules to the privacy engine."""
    providers.register(NAME, ACCOUNT, lambda session: LicensingPersonalData(session, pseudonymizer),
                       RETENTION_RULES)
