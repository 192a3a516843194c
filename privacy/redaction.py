"""Scrub identifiers and secrets out of free text before it is logged or stored.

A second line of defence: the code never puts raw identifiers into log
messages, but free text from people (an access reason) and text from
libraries (a dev-server access line with the client address) can carry them.
"""

from __future__ import annotations

import functools
import re

from core.tokens import registered_prefixes

REDACTED = "[redacted]"

_PATTERNS = [
    # JWS/JWT compact tokens (leases, proofs).
    r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*",
    # Any Authorization value (bearer tokens of every kind are added from core.tokens).
    r"\b(?:bearer|dpop)\s+[A-Za-z0-9._~+/=-]{8,}",
    # Email addresses.
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+",
    # Activation codes: Crockford base32 in groups of five, or run together.
    r"\b[0-9A-Za-z]{5}(?:[- ][0-9A-Za-z]{5}){4,}\b",
    r"\b[0-9A-Za-z]{26,}\b",
    # IPv6 (full form, or compressed with ::) and IPv4 addresses.
    r"\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b",
    r"(?<![0-9a-z:])(?:(?:[0-9a-f]{1,4}:){1,6}|:):(?:[0-9a-f]{1,4}:)*"
    r"(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f]{1,4})?(?![0-9a-z:.])",
    r"\b(?:\d{1,3}\.){3}\d{1,3}\b",
    # key=value pairs whose value is a secret.
    r"\b(?:password|passwd|secret|token|fingerprint)\b\s*[=:]\s*\S+",
]


@functools.lru_cache(maxsize=4)
def _scrubber(token_prefixes: tuple[str, ...]) -> re.Pattern:
    tokens = [rf"\b{re.escape(prefix)}[A-Za-z0-9_-]{{8,}}" for prefix in token_prefixes]
    return re.compile("|".join(f"(?:{pattern})" for pattern in [*tokens, *_PATTERNS]),
                      re.IGNORECASE)


def redact(text: str) -> str:
    """TEXT with addresses, emails, tokens and codes replaced by [redacted]."""
    return _scrubber(registered_prefixes()).sub(REDACTED, text)
