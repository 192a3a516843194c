"""Bearer tokens: each kind has a prefix, is parsed from one header, and is known to redaction.

Every issuer of a token declares its kind here. The prefix makes a token
recognisable wherever it leaks into free text, and the registry is what
privacy's redaction scrubs, so a new kind of token cannot be forgotten there.
"""

from __future__ import annotations

import secrets

from core.errors import Unauthenticated

# RFC 6750 section 3: what a client without a token, or with a bad one, is told.
CHALLENGE = 'Bearer realm="tessera"'
INVALID_TOKEN = 'Bearer realm="tessera", error="invalid_token"'

_PREFIXES: list[str] = []


def registered_prefixes() -> tuple[str, ...]:
    """The prefix of every kind of token issued, in the order declared."""
    return tuple(_PREFIXES)


class TokenKind:
    """One kind of bearer token: PREFIX followed by 256 random bits."""

    def __init__(self, prefix: str, max_length: int = 128):
        self.prefix = prefix
        self.max_length = max_length
        if prefix not in _PREFIXES:
            _PREFIXES.append(prefix)

    def new(self) -> str:
        """A fresh token of this kind (to be shown once and stored only as HMAC)."""
        return self.prefix + secrets.token_urlsafe(32)

    def from_header(self, authorization: str | None) -> str:
        """The token an `Authorization: Bearer ...` header carries; 401 when it has none."""
        if not authorization:
            raise Unauthenticated(headers={"WWW-Authenticate": CHALLENGE})
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if (scheme.lower() != "bearer" or not token.startswith(self.prefix)
                or len(token) > self.max_length):
            raise self.invalid()
        return token

    @staticmethod
    def invalid() -> Unauthenticated:
        """The 401 for a token that is unknown, expired or revoked."""
        return Unauthenticated(headers={"WWW-Authenticate": INVALID_TOKEN})
