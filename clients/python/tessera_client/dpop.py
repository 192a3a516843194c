"""DPoP proofs (RFC 9449) signed by the device key."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit, urlunsplit

import jwt

from .keys import DeviceKey

DEFAULT_PORTS = {"http": 80, "https": 443}


def proof_target_uri(url: str) -> str:
    """Return the ``htu`` for a request URL: no query, no fragment, normalised host."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    port = parts.port
    netloc = host if port in (None, DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", "", ""))


def make_proof(
    device_key: DeviceKey, method: str, url: str, *, now: float, jti: str | None = None
) -> str:
    """Sign a single-use DPoP proof for one HTTP request."""
    claims = {
        # 192 random bits: the server refuses any jti it has already seen.
        "jti": jti or secrets.token_urlsafe(24),
        "htm": method.upper(),
        "htu": proof_target_uri(url),
        "iat": int(now),
    }
    headers = {"typ": "dpop+jwt", "alg": "EdDSA", "jwk": device_key.public_jwk}
    return jwt.encode(claims, device_key.private_key, algorithm="EdDSA", headers=headers)
