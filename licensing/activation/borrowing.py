"""Borrowing: one floating seat leaves the network with a longer lease.

A laptop going on the road asks for a lease ending at a chosen time, at most
the license's ``max_borrow_seconds`` away. The seat stays held until that
lease ends (or it is checked in), so the seat count stays honest while the
device is away.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable

import sqlalchemy as sa

from core.database import utcnow
from licensing import errors
from licensing.activation import floating
from licensing.accounts.models import Account
from licensing.activation.dpop import VerifiedProof
from licensing.activation.models import Seat
from licensing.activation.services import ActivationResult, license_state, location_columns
from licensing.catalog.models import License, Product
from licensing.signing.leases import Signer, sign_lease
from privacy.geo import Location
from privacy.purposes import LICENSE_REFRESH, processes

_SEAT = (sa.select(Seat, License, Product.code, Account.restricted_at)
         .join(License, Seat.license_id == License.id).join(Product).join(Account)
         .where(Seat.id == sa.bindparam("seat_id")).with_for_update(of=Seat))


class BorrowService:
    """Issue borrowed leases for floating seats."""

    def __init__(self, session, signer: Callable[[], Signer], issuer: str, clock=utcnow):
        self._session = session
        self._signer = signer
        self._issuer = issuer
        self._clock = clock

    @processes(LICENSE_REFRESH)
    def borrow(self, seat_id: str, proof: VerifiedProof, until: datetime,
               location: Location = Location()) -> ActivationResult:
        """A lease for the proof's seat ending at UNTIL, if the license allows that long."""
        now = self._clock()
        seat, license, product_code = self._usable_seat(seat_id, proof, now)
        until = until.replace(microsecond=0)
        if not floating.is_floating(license) or until > floating.borrow_limit(license, now):
            raise errors.BorrowNotAllowed()
        if until <= now:
            # A well-formed time, but no borrow: refused like one past the limit.
            raise errors.BorrowNotAllowed("A borrowed lease must end in the future.")
        issued = now.replace(microsecond=0)
        lease = sign_lease(self._signer(), issuer=self._issuer, seat_id=seat.id,
                           product_code=product_code, license=license, jkt=seat.device_jkt,
                           now=now, lease_seconds=int((until - issued).total_seconds()))
        floating.extend_hold(seat, lease.expires_at)
        seat.last_refresh_at = now
        for name, value in location_columns(location, now).items():
            setattr(seat, name, value)
        return ActivationResult(seat, license, product_code, self._seats_used(license, now),
                                lease, False)

    def _usable_seat(self, seat_id: str, proof: VerifiedProof,
                     now: datetime) -> tuple[Seat, License, str]:
        """The seat, locked, in the refresh's order of refusals: 404, 401, 410, 403."""
        row = self._session.execute(_SEAT, {"seat_id": seat_id}).first()
        if row is None:
            raise errors.NotFound("No such activation.")
        seat, license, product_code, restricted_at = row
        if seat.device_jkt is not None and seat.device_jkt != proof.jkt:
            raise errors.InvalidProof("The proof's key is not this activation's key.")
        if seat.released_at is not None or floating.has_lapsed(seat, now):
            raise errors.ActivationReleased()
        if restricted_at is not None:
            raise errors.AccountRestricted()
        state = license_state(license, now)
        if state is not None:
            raise errors.LICENSE_STATE_ERRORS[state]()
        return seat, license, product_code

    def _seats_used(self, license: License, now: datetime) -> int:
        return self._session.scalar(
            sa.select(sa.func.count()).select_from(Seat)
            .where(Seat.license_id == license.id, floating.held(Seat.__table__)), {"now": now})
