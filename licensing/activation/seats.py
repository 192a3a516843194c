"""Releasing seats: the one place a seat is freed, for every reason it can be.

A device deactivates its own seat, support releases one for a lost or
air-gapped device, an erasure releases all of an account's seats. A release
keeps the row (counts for `license.compliance`) and frees the seat at once:
seat counting looks only at unreleased rows.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from licensing import errors
from licensing.activation.models import Seat

# Why a seat was freed, as `release_reason` records it.
DEACTIVATED, SUPPORT, ERASED = "deactivated", "support", "erased"


def locked_seat(session, seat_id: str) -> Seat:
    """The seat SEAT_ID, its row locked until the transaction ends; 404 when there is none."""
    seat = session.scalar(sa.select(Seat).where(Seat.id == seat_id).with_for_update())
    if seat is None:
        raise errors.NotFound("No such activation.")
    return seat


def release(seat: Seat, reason: str, now: datetime) -> bool:
    """Free SEAT for REASON; releasing twice is harmless (False the second time)."""
    if seat.released_at is not None:
        return False
    seat.released_at = now
    seat.release_reason = reason
    return True


def release_where(session, condition, reason: str, now: datetime) -> int:
    """Free every unreleased seat matching CONDITION in one statement; how many were freed."""
    return session.execute(
        sa.update(Seat).where(condition, Seat.released_at.is_(None))
        .values(released_at=now, release_reason=reason)
        .execution_options(synchronize_session=False)).rowcount
