"""Ed25519 JWK helpers: encoding, RFC 7638 thumbprints and JWKS parsing.

Pure functions only: no files, no network.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519_KEY_BYTES = 32


def b64url_encode(data: bytes) -> str:
    """Encode bytes as unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url strictly (no stray characters)."""
    if not isinstance(text, str) or "=" in text:
        raise ValueError("not unpadded base64url")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc
    # Refuse non-canonical encodings so one key has exactly one spelling.
    if b64url_encode(raw) != text:
        raise ValueError("non-canonical base64url")
    return raw


def public_jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    """Return the public JWK of an Ed25519 key."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """Return the RFC 7638 SHA-256 thumbprint of an Ed25519 public JWK."""
    public_key_from_jwk(jwk)  # a thumbprint of a key we cannot use is meaningless
    # RFC 7638 §3.2: only the required members, lexicographic order, no whitespace.
    canonical = json.dumps(
        {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]},
        separators=(",", ":"),
        sort_keys=True,
        ensure_ascii=True,
    )
    return b64url_encode(hashlib.sha256(canonical.encode("ascii")).digest())


def public_key_from_jwk(jwk: Any) -> Ed25519PublicKey:
    """Build an Ed25519 public key from a JWK, refusing anything else."""
    if not isinstance(jwk, dict):
        raise ValueError("JWK must be an object")
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise ValueError("JWK is not an Ed25519 key")
    # A JWK with a private part is a leak or a mistake; never use it.
    if "d" in jwk:
        raise ValueError("JWK contains private key material")
    raw = b64url_decode(jwk.get("x", ""))
    if len(raw) != ED25519_KEY_BYTES:
        raise ValueError("JWK x is not a 32-byte Ed25519 key")
    return Ed25519PublicKey.from_public_bytes(raw)


def signing_keys(jwks: Any) -> dict[str, Ed25519PublicKey]:
    """Index the usable EdDSA signing keys of a JWKS by ``kid``."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise ValueError("JWKS must be an object with a 'keys' list")
    found: dict[str, Ed25519PublicKey] = {}
    spelled: dict[str, str] = {}
    for entry in jwks["keys"]:
        if not _is_signing_entry(entry):
            continue  # other key types or uses may be added later; skip them
        kid = entry["kid"]
        if kid in spelled and spelled[kid] != entry["x"]:
            raise ValueError(f"JWKS names two different keys {kid!r}")
        found[kid] = public_key_from_jwk(_public_members(entry))
        spelled[kid] = entry["x"]
    return found


def validate_jwks(jwks: Any) -> dict[str, Any]:
    """Return the JWKS if it holds at least one usable signing key."""
    if not signing_keys(jwks):
        raise ValueError("JWKS holds no Ed25519 signing key")
    return jwks


def _is_signing_entry(entry: Any) -> bool:
    """Tell whether a JWKS entry is a public Ed25519 key meant for EdDSA signatures."""
    if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str) or not entry["kid"]:
        return False
    if entry.get("use", "sig") != "sig" or entry.get("alg", "EdDSA") != "EdDSA":
        return False
    if "d" in entry:
        return False
    try:
        public_key_from_jwk(_public_members(entry))
    except ValueError:
        return False
    return True


def _public_members(entry: dict[str, Any]) -> dict[str, Any]:
    """Keep only the members that define an OKP public key."""
    return {name: entry[name] for name in ("kty", "crv", "x") if name in entry}


def merge_jwks(*sets: dict[str, Any] | None) -> dict[str, Any] | None:
    """Join key sets by ``kid``, the first set winning; None when all are empty."""
    keys: list[dict[str, Any]] = []
    seen: set[Any] = set()
    for jwks in sets:
        entries = jwks.get("keys") if isinstance(jwks, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            kid = entry.get("kid") if isinstance(entry, dict) else None
            if kid is not None and kid not in seen:
                seen.add(kid)
                keys.append(entry)
    return {"keys": keys} if keys else None
