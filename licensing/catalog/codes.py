"""Activation codes: Crockford base32, 150 random bits, grouped for reading."""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SYMBOLS = 30  # 30 x 5 bits = 150 bits, above the contract's 130-bit floor
GROUP = 5
# Crockford decoding: case-insensitive, O reads as 0, I and L read as 1.
_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})


def generate_code() -> str:
    """A new code, shown as six groups of five joined by '-'."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(SYMBOLS))
    return "-".join(raw[i:i + GROUP] for i in range(0, SYMBOLS, GROUP))


def normalize_code(text: str) -> str | None:
    """The canonical form of a typed code, or None if it cannot be one."""
    cleaned = "".join(ch for ch in text.upper() if ch not in "- ").translate(_ALIASES)
    if len(cleaned) != SYMBOLS or any(ch not in ALPHABET for ch in cleaned):
        return None
    return cleaned
