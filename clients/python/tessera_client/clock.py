"""Time helpers and clock-rollback detection.

A lease is honoured until its ``exp`` by the *local* clock, so winding the
clock back would stretch it forever. The client therefore remembers the
latest time the service has shown it (lease ``iat``, HTTP ``Date``) and
refuses to run while the local clock is well behind that. Only times from the
service are remembered, never the local clock: a machine whose clock once
jumped forward by mistake must not lock its user out.
"""

from __future__ import annotations

from datetime import UTC, datetime

from .errors import ClockTampered

DEFAULT_CLOCK_TOLERANCE = 600  # seconds; covers ordinary drift between NTP syncs


def check_clock(
    now: float, last_seen: int | None, tolerance: float = DEFAULT_CLOCK_TOLERANCE
) -> None:
    """Raise ClockTampered when the local clock is behind a time already seen."""
    if last_seen is not None and now < last_seen - tolerance:
        raise ClockTampered(
            f"the local clock ({to_rfc3339(now)}) is behind a time already seen from "
            f"the licence service ({to_rfc3339(last_seen)}); set the clock right"
        )


def latest_seen(last_seen: int | None, *observed: int | None) -> int | None:
    """Return the latest of the remembered time and newly observed service times."""
    times = [value for value in (last_seen, *observed) if value is not None]
    return max(times) if times else None


def to_rfc3339(epoch: float | None) -> str | None:
    """Format epoch seconds as an RFC 3339 UTC string."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(int(epoch), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_rfc3339(value: str | None) -> int | None:
    """Parse an RFC 3339 string into epoch seconds, None when absent."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())
