"""Password hashing with argon2id, equal work for unknown users."""

from __future__ import annotations

import functools

import argon2
from argon2.exceptions import InvalidHashError, VerificationError


class PasswordService:
    """Hash and verify passwords; rehash when the parameters rise."""

    def __init__(self, time_cost: int, memory_cost: int, parallelism: int):
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism,
            type=argon2.Type.ID)
        # Verifying against this when the user is unknown makes both failures cost
        # the same work, so timing does not reveal which usernames exist.
        self._decoy = self._hasher.hash("tessera-decoy-password")

    @property
    def parameters(self) -> argon2.Parameters:
        """The parameters new hashes are made with."""
        return argon2.extract_parameters(self._decoy)

    def hash(self, password: str) -> str:
        """Hash PASSWORD with argon2id."""
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """Check PASSWORD; with no stored hash, do the same work and fail."""
        try:
            return self._hasher.verify(stored_hash or self._decoy, password) and bool(stored_hash)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """Whether STORED_HASH was made with weaker parameters than now."""
        return self._hasher.check_needs_rehash(stored_hash)


# OWASP ASVS 4.0 2.1.1-2.1.2 and 2.1.7: at least 12 characters, at most 128 (a bound,
# not a composition rule), and not one of the passwords attackers try first.
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128


@functools.cache
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships, offline, the 30,000 passwords most often found in breach corpora
    # (lower-case); loaded once, on the first check.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problems(password: str) -> list[str]:
    """Why PASSWORD may not be set (empty when it may)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return [f"Use at least {MIN_PASSWORD_LENGTH} characters."]
    if len(password) > MAX_PASSWORD_LENGTH:
        return [f"Use at most {MAX_PASSWORD_LENGTH} characters."]
    if password.lower() in _common_passwords():
        return ["This password is among the most common ones found in breaches; choose another."]
    return []
