"""Activation, refresh and deactivation: the desktop protocol's logic.

Services get their collaborators injected, flush but never commit: the
request (or CLI command) commits once at the edge.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Mapping

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from core.database import new_id, utcnow
from licensing import errors
from licensing.accounts.models import Account, fold_username
from licensing.accounts.passwords import PasswordService
from licensing.activation import candidates, floating, seats
from licensing.activation.candidates import AccountState, Candidate, LicenseRow, SeatCounts
from licensing.activation.components import ComponentMatcher, pseudonymise
from licensing.activation.dpop import VerifiedProof
from licensing.activation.models import Seat
from licensing.activation.refresh import REFUSING_STATUSES, LicenseTerms, SeatState, read_and_stamp
from licensing.catalog.codes import normalize_code
from licensing.catalog.models import License
from licensing.compliance.checks import (CHURN_WINDOW, ComplianceChecks, foreign_key,
                                         refused_license)
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
    # Hashes of the device's parts (machine_id, disk, mac, cpu, board), all optional.
    components: Mapping[str, str] | None = None


@dataclass(frozen=True)
class ActivationResult:
    """A seat, its license, and the lease just issued for it."""

    seat: Seat | SeatState
    license: License | LicenseTerms | LicenseRow
    product_code: str
    seats_used: int
    lease: Lease
    created: bool


def license_state(license: License | LicenseTerms | LicenseRow, now: datetime) -> str | None:
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


def _raise_for_state(state: str, license_id: str) -> None:
    raise refused_license(errors.LICENSE_STATE_ERRORS[state](), license_id, state)


def _ends_last_key(license: LicenseRow) -> datetime:
    return (license.expires_at.replace(tzinfo=None) if license.expires_at else _FAR_FUTURE)


# The reuse of a device's seat loads it as an entity (it is rebound attribute by attribute).
_ACTIVE_SEAT = (sa.select(Seat)
                .where(Seat.license_id.in_(sa.bindparam("license_ids", expanding=True)),
                       Seat.released_at.is_(None),
                       Seat.device_pseudonym.in_(sa.bindparam("pseudonyms", expanding=True)))
                .order_by(Seat.activated_at).limit(1))


class ActivationService:
    """Bind devices to seats and issue their leases."""

    def __init__(self, session, pseudonymizer: Pseudonymizer, passwords: PasswordService,
                 signer: Callable[[], Signer], issuer: str, clock=utcnow,
                 compliance: ComplianceChecks | None = None):
        self._session = session
        self._pseudonyms = pseudonymizer
        self._passwords = passwords
        self._signer = signer
        self._issuer = issuer
        self._clock = clock
        self._compliance = compliance

    # -- authentication -------------------------------------------------

    @processes(LICENSE_ACTIVATION)
    def authenticate(self, username: str, password: str) -> Account:
        """The account for USERNAME if PASSWORD is right; same work either way."""
        account = self._session.scalar(
            sa.select(Account).where(Account.username_folded == fold_username(username)))
        if not self._passwords.verify(account.password_hash if account else None, password):
            raise errors.InvalidCredentials()
        if self._passwords.needs_rehash(account.password_hash):
            account.password_hash = self._passwords.hash(password)
        return account

    def _code_digests(self, code: str) -> list[str]:
        canonical = normalize_code(code)
        if canonical is None:
            raise errors.InvalidActivationCode()
        return [p.value for p in self._pseudonyms.candidates(domains.ACTIVATION_CODE, canonical)]

    # -- activation -----------------------------------------------------

    @processes(LICENSE_ACTIVATION)
    def activate_with_password(self, claim: DeviceClaim, username: str, password: str,
                               *, offline: bool = False) -> ActivationResult:
        """Activate a device for an account's license of the claimed product."""
        account = self.authenticate(username, password)
        self._check_account(account, claim)
        found = candidates.of_account(self._session, self._session.connection(), account.id,
                                      claim.product)
        if not found:
            raise errors.NoLicenseForProduct()
        return self._bind(claim, found, offline)

    @processes(LICENSE_ACTIVATION)
    def activate_with_code(self, claim: DeviceClaim, code: str,
                           *, offline: bool = False) -> ActivationResult:
        """Activate a device on the license an activation code belongs to; spend the code."""
        digests = self._code_digests(code)
        connection = self._session.connection()
        # The code, its license (locked), product and account in one statement.
        found = candidates.code(self._session, connection, digests)
        now = self._clock()
        if found is None or found.redeemed_at is not None or found.expires_at <= now:
            raise errors.InvalidActivationCode()
        if found.candidate.product_code != claim.product:
            raise errors.InvalidActivationCode()
        self._check_account(found.candidate.account, claim)
        return self._bind(claim, [found.candidate], offline, code_id=found.id)

    def activate_on_license(self, claim: DeviceClaim, license_id: str, *,
                            offline: bool = False) -> ActivationResult:
        """Activate a device on a named license (staff acting for the account holder)."""
        found = candidates.of_license(self._session, self._session.connection(), license_id)
        if not found or found[0].product_code != claim.product:
            raise errors.NoLicenseForProduct()
        self._check_account(found[0].account, claim)
        return self._bind(claim, found, offline)

    def _check_account(self, account: Account | AccountState, claim: DeviceClaim) -> None:
        # An erased account keeps its licenses as bare records: nothing binds to them again.
        if account.restricted_at is not None or account.erased_at is not None:
            raise errors.AccountRestricted()
        if self._compliance is not None:
            self._compliance.screen_account(account, claim.location, self._session.connection())

    def _bind(self, claim: DeviceClaim, found: list[Candidate], offline: bool,
              code_id: int | None = None) -> ActivationResult:
        """Bind the device to a seat of one of FOUND; spend the code CODE_ID for it if given."""
        now = self._clock()
        usable = [c for c in found if license_state(c.license, now) is None]
        if not usable:
            most_recent = max((c.license for c in found),
                              key=lambda lic: (lic.starts_at, lic.created_at))
            _raise_for_state(license_state(most_recent, now), most_recent.id)
        licenses = [c.license for c in usable]
        license_ids = [lic.id for lic in licenses]
        if any(floating.is_floating(lic) for lic in licenses):
            # Under the licenses' row locks: lapsed seats neither count nor block reuse.
            floating.release_lapsed(self._session, now, license_ids)
        pseudonyms = self._device_pseudonyms(claim)
        churn = now - CHURN_WINDOW if self._compliance is not None else None
        counts = candidates.seat_counts(self._session.connection(), license_ids, pseudonyms,
                                        now, churn)
        seat = None
        if any(c.device_seat for c in counts.values()):
            seat = self._session.scalar(_ACTIVE_SEAT, {"license_ids": license_ids,
                                                       "pseudonyms": pseudonyms})
        seat = seat or self._seat_by_components(claim, usable)
        created = seat is None
        if seat is None:
            license = self._license_with_free_seat(licenses, counts)
            seat = self._new_seat(claim, license, offline, now, code_id=code_id)
            used = counts[license.id].used + 1
            if self._compliance is not None:
                # The churn count as it stands with this seat: the ones before, and it.
                self._compliance.new_seat(self._session, license.id, now,
                                          seen=counts[license.id].recent + 1,
                                          account_id=usable[0].account.id)
        else:
            license = next(lic for lic in licenses if lic.id == seat.license_id)
            self._reuse(seat, claim, license, offline, now)
            used = counts[license.id].used
            if code_id is not None and not candidates.redeem(self._session.connection(), code_id,
                                                             seat.id, now):
                raise errors.InvalidActivationCode()
        lease = self._lease(seat, license, claim.product, now, offline)
        return ActivationResult(seat, license, claim.product, used, lease, created)

    def _seat_by_components(self, claim: DeviceClaim, usable: list[Candidate]) -> Seat | None:
        """An active seat whose stored components say this is its device, new fingerprint or not."""
        if not claim.components:
            return None
        return ComponentMatcher(self._session, self._pseudonyms).seat_for(
            usable[0].fingerprint_match, [c.license.id for c in usable], claim.components)

    @staticmethod
    def _license_with_free_seat(usable: list[LicenseRow],
                                counts: dict[str, SeatCounts]) -> LicenseRow:
        free = [lic for lic in usable if counts[lic.id].used < lic.seats]
        if not free:
            fullest = max(usable, key=_ends_last_key)
            raise errors.SeatLimitReached(fullest.seats)
        return max(free, key=_ends_last_key)

    def _new_seat(self, claim: DeviceClaim, license: License | LicenseRow, offline: bool,
                  now: datetime, *, code_id: int | None = None) -> SeatState:
        pseudonym = self._pseudonyms.pseudonym(domains.DEVICE, claim.fingerprint)
        held_until = floating.lease_end(license, now, offline) if floating.is_floating(
            license) else None
        seat = SeatState(new_id("act"), license.id, pseudonym.value, pseudonym.key_version,
                         claim.proof.jkt, None, offline, claim.location.country, now, held_until)
        # One INSERT with every column, the time and place of this request among them.
        values = {"id": seat.id, "license_id": license.id, "device_pseudonym": pseudonym.value,
                  "device_key_version": pseudonym.key_version,
                  "device_components": self._components(claim), "device_jkt": claim.proof.jkt,
                  "device_public_key": claim.proof.public_key, "device_name": claim.device_name,
                  "platform": claim.platform, "offline": offline, "activated_at": now,
                  "last_refresh_at": now, "held_until": held_until,
                  **location_columns(claim.location, now)}
        try:
            redeemed = candidates.insert_seat(self._session.connection(), values, code_id, now)
        except IntegrityError as exc:
            # Only reachable if the row lock was bypassed; never two active seats. No
            # savepoint (two round trips on every new seat): the refusal rolls back.
            raise errors.Conflict("This device already holds a seat.") from exc
        if not redeemed:
            raise errors.InvalidActivationCode()  # spent meanwhile; the seat is rolled back
        return seat

    def _reuse(self, seat: Seat, claim: DeviceClaim, license: LicenseRow, offline: bool,
               now: datetime) -> None:
        self._rebind(seat, claim)
        floating.hold(seat, license, now, offline)
        seat.last_refresh_at = now
        for name, value in location_columns(claim.location, now).items():
            setattr(seat, name, value)

    def _rebind(self, seat: Seat, claim: DeviceClaim) -> None:
        seat.device_jkt = claim.proof.jkt
        seat.device_public_key = claim.proof.public_key
        if claim.device_name is not None:
            seat.device_name = claim.device_name
        if claim.platform is not None:
            seat.platform = claim.platform
        fresh = self._fresh_pseudonym(seat, claim.fingerprint)
        if fresh is not None or seat.device_pseudonym not in self._device_pseudonyms(claim):
            # A new key, or a new fingerprint matched by components: the seat takes it,
            # and components stored under the old key could no longer be compared.
            fresh = fresh or self._pseudonyms.pseudonym(domains.DEVICE, claim.fingerprint)
            seat.device_pseudonym, seat.device_key_version = fresh.value, fresh.key_version
            seat.device_components = None
        if claim.components:
            seat.device_components = self._components(claim)

    def _device_pseudonyms(self, claim: DeviceClaim) -> list[str]:
        return [c.value for c in self._pseudonyms.candidates(domains.DEVICE, claim.fingerprint)]

    def _components(self, claim: DeviceClaim) -> dict[str, str] | None:
        return pseudonymise(self._pseudonyms, claim.components) if claim.components else None

    def _fresh_pseudonym(self, seat: Seat | SeatState, fingerprint: str) -> Pseudonym | None:
        """The device's pseudonym under the current key, when the seat's is older."""
        if seat.device_key_version == self._pseudonyms.current_version:
            return None
        return self._pseudonyms.pseudonym(domains.DEVICE, fingerprint)

    def _lease(self, seat: Seat | SeatState, license: License | LicenseTerms, product_code: str,
               now: datetime, offline: bool) -> Lease:
        seconds = floating.lease_seconds(license, offline)
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
        compliance = self._compliance
        blocked = compliance is not None and compliance.embargoed(location.country)
        # From an embargoed country the seat is read but never stamped: no key matches "".
        screening = compliance.screening_window(now) if compliance is not None else None
        outcome = read_and_stamp(connection, seat_id, stamp, now=now,
                                 jkt="" if blocked else proof.jkt, spend=spend,
                                 screening=screening)
        if not outcome.fresh:
            raise errors.InvalidProof("This proof has been used before.")
        found = outcome.found
        if found is None:
            raise errors.NotFound("No such activation.")
        seat, license = found.seat, found.license
        self._check_key(seat, proof, found.account_id)
        if fingerprint is not None:
            self._check_fingerprint(seat, fingerprint)
        if seat.released_at is not None or floating.has_lapsed(seat, now):
            raise errors.ActivationReleased()
        if found.restricted_at is not None:
            raise errors.AccountRestricted()
        if blocked:
            raise compliance.blocked_refresh(seat.id, seat.license_id, location.country)
        screened_now = compliance is not None and compliance.screen_refresh(
            connection, found.account_id, license.id, found.screening, location, now)
        state = license_state(license, now)
        if state is not None:
            _raise_for_state(state, license.id)
        if not outcome.stamped and screened_now:
            # The account passed a screening made just now: the statement, which stamps
            # only on a verdict already held, left the seat for this second round trip.
            outcome = read_and_stamp(connection, seat_id, stamp, now=now, jkt=proof.jkt,
                                     spend=None, screening=screening)
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
                                       device_key_version=fresh.key_version,
                                       device_components=None))
        if compliance is not None:
            compliance.refreshed(seat, location, now)
        lease = self._lease(seat, license, found.product_code, now, seat.offline)
        return ActivationResult(seat, license, found.product_code, found.seats_used, lease, False)

    @staticmethod
    def _check_key(seat: Seat | SeatState, proof: VerifiedProof,
                   account_id: str | None = None) -> None:
        # A de-identified seat (released long ago) no longer knows its device: it can
        # only answer that it was released.
        if seat.device_jkt is not None and seat.device_jkt != proof.jkt:
            raise foreign_key(errors.InvalidProof("The proof's key is not this activation's key."),
                              seat.id, seat.license_id, account_id)

    @processes(LICENSE_ACTIVATION)
    def deactivate(self, seat_id: str, proof: VerifiedProof) -> None:
        """Free the seat held by the proof's key; releasing twice is harmless."""
        seat = seats.locked_seat(self._session, seat_id)
        self._check_key(seat, proof)
        now = self._clock()
        if floating.has_lapsed(seat, now):
            seats.release(seat, floating.LAPSED, seat.held_until)
        else:
            seats.release(seat, seats.DEACTIVATED, now)
