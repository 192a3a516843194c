"""Keyed pseudonyms for identifiers that must never be stored raw.

Why HMAC and not a plain hash: a device ID, an email address or an IPv4
address comes from a space small enough to enumerate, so SHA-256(value) can be
reversed by brute force. HMAC-SHA256 under a secret key cannot, and the key
lives apart from the data (GDPR Art 4(5)).

Each value is bound to a domain label (``device:``, ``email:``...) so the same
string pseudonymises differently per kind, and each stored pseudonym carries
the version of the key that made it, so keys can rotate: new values use the
current version, look-ups try every version.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

DEVICE = "device"
EMAIL = "email"
SUBJECT = "subject"
ACTIVATION_CODE = "activation-code"
STAFF_TOKEN = "staff-token"
STAFF_SESSION = "staff-session"
SESSION_TOKEN = "session-token"


@dataclass(frozen=True)
class Pseudonym:
    """A pseudonym and the key version that made it."""

    value: str
    key_version: int


class Pseudonymizer:
    """HMAC-SHA256 pseudonyms under a versioned keyring."""

    def __init__(self, keys: dict[str, bytes]):
        if not keys:
            raise ValueError("a pseudonym keyring needs at least one key")
        # The first key in the configured order is the current one.
        self._keys = {int(version): key for version, key in keys.items()}
        self.current_version = int(next(iter(keys)))

    def _digest(self, version: int, domain: str, value: str) -> str:
        message = f"{domain}:{value}".encode("utf-8")
        return hmac.new(self._keys[version], message, hashlib.sha256).hexdigest()

    def pseudonym(self, domain: str, value: str) -> Pseudonym:
        """Pseudonymise VALUE under the current key."""
        return Pseudonym(self._digest(self.current_version, domain, value), self.current_version)

    def candidates(self, domain: str, value: str) -> list[Pseudonym]:
        """Every pseudonym VALUE may be stored under, current key first."""
        return [Pseudonym(self._digest(v, domain, value), v) for v in self.versions]

    @property
    def versions(self) -> list[int]:
        """Every configured key version, the current one first."""
        return [self.current_version] + sorted(
            (v for v in self._keys if v != self.current_version), reverse=True)

    def has_version(self, version: int) -> bool:
        """Whether the keyring still holds key VERSION."""
        return version in self._keys

    def under(self, version: int, domain: str, value: str) -> Pseudonym | None:
        """VALUE's pseudonym under key VERSION, or None if that key is gone."""
        if version not in self._keys:
            return None
        return Pseudonym(self._digest(version, domain, value), version)

    def matches(self, stored: Pseudonym, domain: str, value: str) -> bool:
        """Compare in constant time whether STORED is VALUE's pseudonym."""
        if stored.key_version not in self._keys:
            return False
        return hmac.compare_digest(stored.value, self._digest(stored.key_version, domain, value))
