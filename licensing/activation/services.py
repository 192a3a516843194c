"""Activation, refresh and deactivation: the desktop protocol's logic.

Services get their collaborators injected, flush but never commit: the
request (or CLI command) commits once at the edge.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from core.database import utcnow
from licensing import errors
from licensing.accounts.models import Account
from licensing.accounts.passwords import PasswordService
from licensing.activation.dpop import VerifiedProof
from licensing.activation.models import Seat
from licensing.activation.refresh import (
    REFUSING_STATUSES,
    LicenseTerms,
    SeatState,
    read_and_stamp,
)
from licensing.catalog.codes import normalize_code
from licensing.catalog.models import ActivationCode, License, Product
from licensing.signing.leases import Lease, Signer, sign_lease
from privacy import pseudonym as domains
from privacy.geo import Location
from privacy.pseudonym import Pseudonym, Pseudonymizer
from privacy.purposes import LICENSE_ACTIVATION, LICENSE_REFRESH, processes

log = logging.getLogger("tessera.licensing")
_FAR_FUTURE = datetime.max.replace(tzinfo=None)


@dataclass(frozen=True)
class DeviceClaim:
    """What a device says about itself when it activates."""

    product: str
    fingerprint: str
    proof: VerifiedProof
    device_name: str | None = None
    platform: str | None = None
    location: Location = Location()


@dataclass(frozen=True)
class ActivationResult:
    """A seat, its license, and the lease just issued for it."""

    seat: Seat | SeatState
    license: License | LicenseTerms
    product_code: str
    seats_used: int
    lease: Lease
    created: bool


def release_seats(session, where: sa.ColumnElement[bool], reason: str, now: datetime) -> int:
    """Release every active seat WHERE selects, with REASON; return how many.

    The one place a seat is released: a device's deactivation, support's release
    and an erasure all come here. A seat released before keeps its first time
    and reason, so every caller is idempotent. Objects already loaded are not
    updated (see release_seat).
    """
    return session.execute(
        sa.update(Seat).where(where, Seat.released_at.is_(None))
        .values(released_at=now, release_reason=reason)
        .execution_options(synchronize_session=False)).rowcount


def release_seat(session, seat: Seat, reason: str, now: datetime) -> bool:
    """Release the loaded SEAT (see release_seats); whether it was active until now."""
    released = release_seats(session, Seat.id == seat.id, reason, now) > 0
    session.expire(seat, ["released_at", "release_reason"])
    return released


def license_state(license: License | LicenseTerms, now: datetime) -> str | None:
    """Why LICENSE cannot be used now, or None when it can."""
    if license.status in REFUSING_STATUSES:
        return license.status
    if license.expires_at is not None and now >= license.expires_at:
        return "expired"
    if now < license.starts_at:
        return "expired"  # not valid yet: the contract has no separate code
    return None


def location_columns(location: Location, now: datetime) -> dict:
    """The seat columns keeping where its latest request came from: country, truncated prefix."""
    return {"country": location.country, "ip_prefix": location.ip_prefix,
            "ip_prefix_at": now if location.ip_prefix is not None else None}


def _raise_for_state(state: str) -> None:
    raise errors.LICENSE_STATE_ERRORS[state]()


def _ends_last_key(license: License) -> datetime:
    return (license.expires_at.replace(tzinfo=None) if license.expires_at else _FAR_FUTURE)


class _Statements:
    """Activation's queries, built once with bound parameters (building cost more than running)."""

    @functools.cached_property
    def code(self) -> sa.Select:
        # The license, its product and account come in the same query: activation
        # reads all three, and three lazy loads were three more round trips.
        return (sa.select(ActivationCode)
                .where(ActivationCode.code_hmac.in_(sa.bindparam("digests", expanding=True)))
                .options(joinedload(ActivationCode.license).joinedload(License.product),
                         joinedload(ActivationCode.license).joinedload(License.account)))

    # Seats are counted under a row lock on every candidate license (in id order, so
    # two requests never lock in opposite orders): concurrent activations then see
    # each other's seats and can never overrun the limit.
    @functools.cached_property
    def license(self) -> sa.Select:
        return _locked(sa.select(License).where(License.id == sa.bindparam("license_id")))

    @functools.cached_property
    def account_licenses(self) -> sa.Select:
        return _locked(sa.select(License).join(Product).where(
            License.account_id == sa.bindparam("account_id"),
            Product.code == sa.bindparam("product")))

    @functools.cached_property
    def seats_used(self) -> sa.Select:
        return (sa.select(Seat.license_id, sa.func.count())
                .where(Seat.license_id.in_(sa.bindparam("license_ids", expanding=True)),
                       Seat.released_at.is_(None))
                .group_by(Seat.license_id))

    @functools.cached_property
    def active_seat(self) -> sa.Select:
        return (sa.select(Seat)
                .where(Seat.license_id.in_(sa.bindparam("license_ids", expanding=True)),
                       Seat.released_at.is_(None),
                       Seat.device_pseudonym.in_(sa.bindparam("pseudonyms", expanding=True)))
                .order_by(Seat.activated_at).limit(1))


def _locked(query: sa.Select) -> sa.Select:
    return query.order_by(License.id).with_for_update(of=License)


_STATEMENTS = _Statements()


class ActivationService:
    """Bind devices to seats and issue their leases."""

    def __init__(self, session, pseudonymizer: Pseudonymizer, passwords: PasswordService,
                 signer: Callable[[], Signer], issuer: str, clock=utcnow):
        self._session = session
        self._pseudonyms = pseudonymizer
        self._passwords = passwords
        self._signer = signer
        self._issuer = issuer
        self._clock = clock

    # -- authentication -------------------------------------------------

    @processes(LICENSE_ACTIVATION)
    def authenticate(self, username: str, password: str) -> Account:
        """The account for USERNAME if PASSWORD is right; same work either way."""
        account = self._session.scalar(sa.select(Account).where(Account.username == username))
        if not self._passwords.verify(account.password_hash if account else None, password):
            raise errors.InvalidCredentials()
        if self._passwords.needs_rehash(account.password_hash):
            account.password_hash = self._passwords.hash(password)
        return account

    def find_code(self, code: str) -> ActivationCode:
        """The live activation code a typed CODE stands for."""
        canonical = normalize_code(code)
        if canonical is None:
            raise errors.InvalidActivationCode()
        digests = [p.value for p in self._pseudonyms.candidates(domains.ACTIVATION_CODE, canonical)]
        # The license, its product and account come in the same query: activation
        # reads all three, and three lazy loads were three more round trips.
        found = self._session.scalar(_STATEMENTS.code, {"digests": digests})
        if found is None or found.redeemed_at is not None or found.expires_at <= self._clock():
            raise errors.InvalidActivationCode()
        return found

    # -- activation -----------------------------------------------------

    @processes(LICENSE_ACTIVATION)
    def activate_with_password(self, claim: DeviceClaim, username: str, password: str,
                               *, offline: bool = False) -> ActivationResult:
        """Activate a device for an account's license of the claimed product."""
        account = self.authenticate(username, password)
        self._check_account(account)
        licenses = self._lock_licenses(_STATEMENTS.account_licenses,
                                       {"account_id": account.id, "product": claim.product})
        if not licenses:
            raise errors.NoLicenseForProduct()
        return self._bind(claim, licenses, offline)

    @processes(LICENSE_ACTIVATION)
    def activate_with_code(self, claim: DeviceClaim, code: str,
                           *, offline: bool = False) -> ActivationResult:
        """Activate a device on the license an activation code belongs to; spend the code."""
        activation_code = self.find_code(code)
        license = activation_code.license
        if license.product.code != claim.product:
            raise errors.InvalidActivationCode()
        self._check_account(license.account)
        locked = self._lock_licenses(_STATEMENTS.license, {"license_id": license.id})
        result = self._bind(claim, locked, offline)
        # Conditional update: of two concurrent redemptions only one matches.
        redeemed = self._session.execute(
            sa.update(ActivationCode)
            .where(ActivationCode.id == activation_code.id, ActivationCode.redeemed_at.is_(None))
            .values(redeemed_at=self._clock(), seat_id=result.seat.id)
            .execution_options(synchronize_session=False))
        if redeemed.rowcount != 1:
            raise errors.InvalidActivationCode()
        return result

    def activate_on_license(self, claim: DeviceClaim, license_id: str, *,
                            offline: bool = False) -> ActivationResult:
        """Activate a device on a named license (staff acting for the account holder)."""
        locked = self._lock_licenses(_STATEMENTS.license, {"license_id": license_id})
        if not locked or locked[0].product.code != claim.product:
            raise errors.NoLicenseForProduct()
        self._check_account(locked[0].account)
        return self._bind(claim, locked, offline)

    def _check_account(self, account: Account) -> None:
        # An erased account keeps its licenses as bare records: nothing binds to them again.
        if account.restricted_at is not None or account.erased_at is not None:
            raise errors.AccountRestricted()

    def _lock_licenses(self, query: sa.Select, parameters: dict) -> list[License]:
        return list(self._session.scalars(query, parameters))

    def _bind(self, claim: DeviceClaim, licenses: list[License],
              offline: bool) -> ActivationResult:
        now = self._clock()
        usable = [lic for lic in licenses if license_state(lic, now) is None]
        if not usable:
            most_recent = max(licenses, key=lambda lic: (lic.starts_at, lic.created_at))
            _raise_for_state(license_state(most_recent, now))
        used = self._seats_used([lic.id for lic in usable])
        seat = self._active_seat(claim.fingerprint, [lic.id for lic in usable])
        created = seat is None
        if seat is None:
            license = self._license_with_free_seat(usable, used)
            seat = self._new_seat(claim, license, offline, now)
            used[license.id] = used.get(license.id, 0) + 1
        else:
            self._rebind(seat, claim)
            license = next(lic for lic in usable if lic.id == seat.license_id)
        seat.last_refresh_at = now
        for name, value in location_columns(claim.location, now).items():
            setattr(seat, name, value)
        lease = self._lease(seat, license, claim.product, now, offline)
        return ActivationResult(seat, license, claim.product, used.get(license.id, 0), lease,
                                created)

    def _seats_used(self, license_ids: list[str]) -> dict[str, int]:
        rows = self._session.execute(_STATEMENTS.seats_used, {"license_ids": license_ids})
        return {license_id: count for license_id, count in rows}

    def _active_seat(self, fingerprint: str, license_ids: list[str]) -> Seat | None:
        candidates = self._pseudonyms.candidates(domains.DEVICE, fingerprint)
        return self._session.scalar(_STATEMENTS.active_seat, {
            "license_ids": license_ids, "pseudonyms": [c.value for c in candidates]})

    @staticmethod
    def _license_with_free_seat(usable: list[License], used: dict[str, int]) -> License:
        free = [lic for lic in usable if used.get(lic.id, 0) < lic.seats]
        if not free:
            fullest = max(usable, key=_ends_last_key)
            raise errors.SeatLimitReached(fullest.seats)
        return max(free, key=_ends_last_key)

    def _new_seat(self, claim: DeviceClaim, license: License, offline: bool,
                  now: datetime) -> Seat:
        pseudonym = self._pseudonyms.pseudonym(domains.DEVICE, claim.fingerprint)
        # last_refresh_at goes in with the INSERT rather than as an UPDATE after it.
        seat = Seat(license_id=license.id, device_pseudonym=pseudonym.value,
                    device_key_version=pseudonym.key_version, device_jkt=claim.proof.jkt,
                    device_public_key=claim.proof.public_key, device_name=claim.device_name,
                    platform=claim.platform, offline=offline, activated_at=now,
                    last_refresh_at=now)
        self._session.add(seat)
        try:
            self._session.flush()
        except IntegrityError as exc:
            # Only reachable if the row lock was bypassed; never two active seats. No
            # savepoint (two round trips on every new seat): the refusal rolls back.
            raise errors.Conflict("This device already holds a seat.") from exc
        return seat

    def _rebind(self, seat: Seat, claim: DeviceClaim) -> None:
        seat.device_jkt = claim.proof.jkt
        seat.device_public_key = claim.proof.public_key
        if claim.device_name is not None:
            seat.device_name = claim.device_name
        if claim.platform is not None:
            seat.platform = claim.platform
        fresh = self._fresh_pseudonym(seat, claim.fingerprint)
        if fresh is not None:
            seat.device_pseudonym, seat.device_key_version = fresh.value, fresh.key_version

    def _fresh_pseudonym(self, seat: Seat | SeatState, fingerprint: str) -> Pseudonym | None:
        """The device's pseudonym under the current key, when the seat's is older."""
        if seat.device_key_version == self._pseudonyms.current_version:
            return None
        return self._pseudonyms.pseudonym(domains.DEVICE, fingerprint)

    def _lease(self, seat: Seat | SeatState, license: License | LicenseTerms, product_code: str,
               now: datetime, offline: bool) -> Lease:
        seconds = license.offline_lease_seconds if offline else license.lease_seconds
        return sign_lease(self._signer(), issuer=self._issuer, seat_id=seat.id,
                          product_code=product_code, license=license, jkt=seat.device_jkt,
                          now=now, lease_seconds=seconds)

    # -- refresh and deactivation ---------------------------------------

    def _check_fingerprint(self, seat: SeatState, fingerprint: str) -> None:
        if seat.device_pseudonym is None:
            return
        stored = Pseudonym(seat.device_pseudonym, seat.device_key_version)
        if not self._pseudonyms.matches(stored, domains.DEVICE, fingerprint):
            raise errors.InvalidProof("The fingerprint is not this activation's device.")

    @processes(LICENSE_REFRESH)
    def refresh(self, seat_id: str, proof: VerifiedProof, location: Location = Location(),
                fingerprint: str | None = None, *, spend: tuple[str, datetime] | None = None,
                connection: sa.Connection | None = None) -> ActivationResult:
        """Issue a new lease for an active seat held by the proof's key.

        SPEND = (jti hash, until) spends the proof's jti in the database, in
        the same statement as the seat is read on PostgreSQL; a replayed proof
        is refused before anything else. The seat is stamped only when the
        refresh is allowed, so on PostgreSQL CONNECTION may be in autocommit
        mode: a refused refresh writes nothing but its spent jti. With
        FINGERPRINT (optional in the body), the device ID must match the
        seat's pseudonym, and a seat pseudonymised under an older key moves to
        the current one; that needs CONNECTION to be a transaction. The work
        runs on CONNECTION when given, else on the session.
        """
        connection = connection or self._session.connection()
        now = self._clock()
        stamp = {"last_refresh_at": now, **location_columns(location, now)}
        outcome = read_and_stamp(connection, seat_id, stamp, now=now, jkt=proof.jkt, spend=spend)
        if not outcome.fresh:
            raise errors.InvalidProof("This proof has been used before.")
        found = outcome.found
        if found is None:
            raise errors.NotFound("No such activation.")
        seat, license = found.seat, found.license
        self._check_key(seat, proof)
        if fingerprint is not None:
            self._check_fingerprint(seat, fingerprint)
        if seat.released_at is not None:
            raise errors.ActivationReleased()
        if found.restricted_at is not None:
            raise errors.AccountRestricted()
        state = license_state(license, now)
        if state is not None:
            _raise_for_state(state)
        if not outcome.stamped:
            # The seat or its license changed between the read and the stamp (a
            # deactivation, a suspension): the device retries and gets the new answer.
            log.info("refresh raced a change to its seat; answered 503")
            raise errors.Unavailable()
        fresh = self._fresh_pseudonym(seat, fingerprint) if fingerprint is not None else None
        if fresh is not None:
            # Rare: after a key rotation, the seat moves to the current key.
            connection.execute(sa.update(Seat.__table__).where(Seat.__table__.c.id == seat.id)
                               .values(device_pseudonym=fresh.value,
                                       device_key_version=fresh.key_version))
        lease = self._lease(seat, license, found.product_code, now, seat.offline)
        return ActivationResult(seat, license, found.product_code, found.seats_used, lease, False)

    @staticmethod
    def _check_key(seat: Seat | SeatState, proof: VerifiedProof) -> None:
        # A de-identified seat (released long ago) no longer knows its device: it can
        # only answer that it was released.
        if seat.device_jkt is not None and seat.device_jkt != proof.jkt:
            raise errors.InvalidProof("The proof's key is not this activation's key.")

    @processes(LICENSE_ACTIVATION)
    def deactivate(self, seat_id: str, proof: VerifiedProof) -> None:
        """Free the seat held by the proof's key; releasing twice is harmless."""
        seat = self._session.scalar(sa.select(Seat).where(Seat.id == seat_id).with_for_update())
        if seat is None:
            raise errors.NotFound("No such activation.")
        self._check_key(seat, proof)
        release_seat(self._session, seat, "deactivated", self._clock())
