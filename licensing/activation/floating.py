"""Floating seats: a seat is held only while the last lease issued for it lives.

A floating seat's ``held_until`` is the end of the last lease issued for it
(activation, refresh or borrow; never moved earlier, since the device may keep
an older, longer lease). Past it the seat has lapsed: it no longer counts
against the license's limit and its next refresh answers 410.

Correctness needs no background job. Activation frees the lapsed seats of the
licenses it has locked, with the same row lock under which it counts seats,
and the count itself leaves lapsed seats out; a refresh cannot revive a lapsed
seat (its stamp requires ``held_until > now``). `flask licensing reap` only
marks lapsed seats released for reports and the Customer Area.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from licensing.activation import seats
from licensing.activation.models import Seat
from licensing.catalog.models import License

FLOATING = "floating"
NODE_LOCKED = "node_locked"
LAPSED = seats.LAPSED
DEFAULT_FLOATING_LEASE_SECONDS = 900

_SEATS = Seat.__table__


def is_floating(license) -> bool:
    """Whether LICENSE (a License or the refresh's LicenseTerms) holds seats by lease."""
    return license.seat_mode == FLOATING


def has_lapsed(seat, now: datetime) -> bool:
    """Whether SEAT is a floating seat whose last lease has ended."""
    return seat.released_at is None and seat.held_until is not None and seat.held_until <= now


def held(table=_SEATS, now=None):
    """SQL: the seat in TABLE still counts (not released, and not lapsed at NOW)."""
    now = sa.bindparam("now", type_=_SEATS.c.held_until.type) if now is None else now
    return sa.and_(table.c.released_at.is_(None),
                   sa.or_(table.c.held_until.is_(None), table.c.held_until > now))


def lease_seconds(license, offline: bool) -> int:
    """How long a lease for LICENSE runs: an offline one on a floating license is a borrow."""
    if not offline:
        return license.lease_seconds
    if is_floating(license):
        return min(license.offline_lease_seconds, license.max_borrow_seconds)
    return license.offline_lease_seconds


def lease_end(license, now: datetime, offline: bool) -> datetime:
    """When the lease issued for a seat of LICENSE at NOW ends (as sign_lease computes it)."""
    # Imported here: licensing.leases reads the refresh's row types, and the refresh
    # statement reads this module.
    from licensing.signing.leases import lease_expiry
    return lease_expiry(license, now.replace(microsecond=0), lease_seconds(license, offline))


def hold(seat: Seat, license: License, now: datetime, offline: bool) -> None:
    """Extend a floating SEAT's hold to the end of the lease about to be issued at NOW."""
    if is_floating(license):
        extend_hold(seat, lease_end(license, now, offline))


def extend_hold(seat: Seat, ends: datetime) -> None:
    """Hold SEAT until at least ENDS (a hold never shrinks: an older lease may still live)."""
    if seat.held_until is None or seat.held_until < ends:
        seat.held_until = ends


def release_lapsed(session, now: datetime, license_ids: list[str] | None = None) -> int:
    """Mark lapsed seats released (as of their lapse), of LICENSE_IDS or of every license.

    Safe beside refreshes: the WHERE is re-checked under each seat's row lock,
    so a seat refreshed in time is left alone.
    """
    condition = _SEATS.c.held_until <= now
    if license_ids is not None:
        condition = sa.and_(condition, _SEATS.c.license_id.in_(license_ids))
    return seats.release_where(session, condition, LAPSED, _SEATS.c.held_until)


def borrow_limit(license: License, now: datetime) -> datetime:
    """The latest end a borrowed lease of LICENSE may have from NOW."""
    return now + timedelta(seconds=license.max_borrow_seconds)
