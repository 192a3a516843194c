"""Device components: a fingerprint that survives a new disk.

A device may send, beside its fingerprint, the parts it is made of (machine
id, disk, MAC, CPU, board), each already hashed on the device. They are
pseudonymised like the fingerprint: HMAC under the pseudonym keyring, domain
``device-component``, the component's name in the message (so equal strings
for a disk and a MAC differ), under the same key version as the seat's device
pseudonym. The raw values are never stored.

A product's ``fingerprint_match`` decides when a device whose fingerprint
changed is still the device of an active seat on the same license: ``exact``
never (the default), ``most`` when more than half of the components stored for
the seat match, ``any`` when one does. Looser matching keeps a seat through a
new disk or network card, and also lets a cloned disk image that keeps most
parts share a seat: the trade-off is the product owner's.
"""

from __future__ import annotations

from typing import Callable, Mapping

import sqlalchemy as sa

from licensing.activation.models import Seat
from privacy.pseudonym import DEVICE_COMPONENT, Pseudonym, Pseudonymizer

COMPONENT_NAMES = ("machine_id", "disk", "mac", "cpu", "board")
EXACT = "exact"
# (components matched, components stored for the seat) -> the same device?
RULES: dict[str, Callable[[int, int], bool]] = {
    "most": lambda matched, stored: 2 * matched > stored,
    "any": lambda matched, stored: matched >= 1,
}


def _message(name: str, value: str) -> str:
    return f"{name}:{value}"


def pseudonymise(pseudonyms: Pseudonymizer, components: Mapping[str, str]) -> dict[str, str]:
    """The stored form of COMPONENTS: name -> HMAC under the current key."""
    return {name: pseudonyms.pseudonym(DEVICE_COMPONENT, _message(name, value)).value
            for name, value in sorted(components.items())}


def matched(pseudonyms: Pseudonymizer, seat: Seat, components: Mapping[str, str]) -> int:
    """How many of COMPONENTS equal the ones stored for SEAT (compared in constant time)."""
    stored = seat.device_components or {}
    return sum(pseudonyms.matches(Pseudonym(stored[name], seat.device_key_version),
                                  DEVICE_COMPONENT, _message(name, value))
               for name, value in components.items() if name in stored)


class ComponentMatcher:
    """Find the active seat a device with a changed fingerprint still owns."""

    _candidates = (sa.select(Seat)
                   .where(Seat.license_id.in_(sa.bindparam("license_ids", expanding=True)),
                          Seat.released_at.is_(None), Seat.device_components.isnot(None))
                   .order_by(Seat.activated_at))

    def __init__(self, session, pseudonyms: Pseudonymizer):
        self._session = session
        self._pseudonyms = pseudonyms

    def seat_for(self, policy: str, license_ids: list[str],
                 components: Mapping[str, str]) -> Seat | None:
        """The active seat on LICENSE_IDS whose components match under POLICY, best first."""
        rule = RULES.get(policy)
        if rule is None or not components:
            return None
        best, best_count = None, 0
        for seat in self._session.scalars(self._candidates, {"license_ids": license_ids}):
            count = matched(self._pseudonyms, seat, components)
            if count > best_count and rule(count, len(seat.device_components)):
                best, best_count = seat, count
        return best
