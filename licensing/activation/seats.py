"""Releasing seats: the one place a seat is freed, whoever frees it.

A device deactivating itself, the account holder in the Customer Area,
support for a lost machine and an erasure all end a seat the same way: the
seat keeps its row (licenses count their history) and gets a release time
and a reason. Only seats still active change, so releasing twice is harmless
and the first release time and reason stay.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from licensing.activation.models import Seat

def release_seats(session, where: sa.ColumnElement[bool], reason: str,
                  now: datetime) -> int:
    """Release every active seat WHERE selects, for REASON; the number released."""
    return session.execute(
        sa.update(Seat).where(where, Seat.released_at.is_(None))
        .values(released_at=now, release_reason=reason)).rowcount
