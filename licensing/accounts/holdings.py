"""What an account holder holds: their licenses and devices, and freeing a device's seat.

The Customer Area's JSON API and its pages both read through this service,
so a page shows nothing the API does not, and an account only ever sees and
changes its own seats: another account's activation is "not found".
"""

from __future__ import annotations

import sqlalchemy as sa

from core.database import rfc3339, utcnow
from licensing import errors
from licensing.activation.models import Seat
from licensing.activation import seats
from licensing.catalog.models import License, Product
from privacy.purposes import LICENSE_ACTIVATION, processes

# Licenses made before floating seats existed have no seat_mode: they are node-locked.
DEFAULT_SEAT_MODE = "node_locked"


class AccountHoldings:
    """One account's licenses and activations, as the account holder sees them."""

    def __init__(self, session, clock=utcnow):
        self._session = session
        self._clock = clock

    def licenses(self, account_id: str) -> list[dict]:
        """The account's licenses with the seats each has in use."""
        in_use = (sa.select(sa.func.count(Seat.id))
                  .where(Seat.license_id == License.id, Seat.released_at.is_(None))
                  .scalar_subquery())
        rows = self._session.execute(
            sa.select(License, Product.code, in_use.label("seats_used"))
            .join(Product, License.product_id == Product.id)
            .where(License.account_id == account_id)
            .order_by(License.created_at, License.id))
        return [_license_view(license, code, used) for license, code, used in rows]

    def activations(self, account_id: str, include_released: bool = False) -> list[dict]:
        """The account's active seats (and released ones with INCLUDE_RELEASED)."""
        query = (sa.select(Seat, Product.code)
                 .join(License, Seat.license_id == License.id)
                 .join(Product, License.product_id == Product.id)
                 .where(License.account_id == account_id)
                 .order_by(Seat.activated_at, Seat.id))
        if not include_released:
            query = query.where(Seat.released_at.is_(None))
        return [_activation_view(seat, code, include_released)
                for seat, code in self._session.execute(query)]

    @processes(LICENSE_ACTIVATION)
    def deactivate(self, account_id: str, activation_id: str) -> None:
        """Free one of the account's seats; the device's next refresh gets 410."""
        owner = self._session.scalar(
            sa.select(License.account_id).join(Seat, Seat.license_id == License.id)
            .where(Seat.id == activation_id))
        if owner != account_id:
            raise errors.NotFound("No such activation.")
        # The holder freeing a device from the Customer Area is the device's deactivation.
        seats.release(seats.locked_seat(self._session, activation_id), seats.DEACTIVATED,
                      self._clock())


def _license_view(license: License, product_code: str, seats_used: int) -> dict:
    return {"id": license.id, "product": product_code, "kind": license.kind,
            "status": license.status, "seats": license.seats, "seats_used": seats_used,
            "starts_at": rfc3339(license.starts_at), "expires_at": rfc3339(license.expires_at),
            "entitlements": list(license.entitlements or []),
            "seat_mode": getattr(license, "seat_mode", None) or DEFAULT_SEAT_MODE}


def _activation_view(seat: Seat, product_code: str, with_release: bool) -> dict:
    view = {"id": seat.id, "license": seat.license_id, "product": product_code,
            "device_name": seat.device_name, "platform": seat.platform,
            "offline": bool(seat.offline), "activated_at": rfc3339(seat.activated_at),
            "last_refresh_at": rfc3339(seat.last_refresh_at), "country": seat.country}
    if with_release:
        view["released_at"] = rfc3339(seat.released_at)
    return view
