"""Column types and identifiers shared by the models."""

from __future__ import annotations

import base64
import secrets

from privacy.database import UTCDateTime, rfc3339, utcnow

__all__ = ["UTCDateTime", "new_id", "rfc3339", "utcnow"]


def new_id(prefix: str) -> str:
    """A public identifier: PREFIX_ + 128 random bits in lowercase base32."""
    return f"{prefix}_" + base64.b32encode(secrets.token_bytes(16)).decode().rstrip("=").lower()
