"""DPoP proofs (RFC 9449) made with the device's Ed25519 key: form, signature, method, URL, age.

Spending a proof's jti (replay defence) is licensing.activation.replay's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from core.encoding import b64url_decode, jwk_thumbprint
from licensing.errors import InvalidProof

MAX_PROOF_LENGTH = 4096
MAX_JTI_LENGTH = 256
_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNRESERVED = "-._~"
# A proof names its key only by the embedded jwk; any other way of pointing at a
# key (or a critical extension we do not implement) is a confusion attack.
_FORBIDDEN_HEADER = frozenset({"kid", "jku", "x5u", "x5c", "x5t", "x5t#S256", "crit"})


def _same_url(htu: str, url: str) -> bool:
    # Equal strings have equal normal forms: the usual case costs no parsing.
    return htu == url or normalize_url(htu) == normalize_url(url)


def normalize_url(url: str) -> str:
    """RFC 3986 normal form of an http(s) URL, without query or fragment."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    # Decode then re-encode so %7E and ~, %2f and %2F compare equal.
    path = quote(unquote(parts.path or "/"), safe="/" + _UNRESERVED + "!$&'()*+,;=:@")
    return urlunsplit((scheme, netloc, path, "", ""))


@dataclass(frozen=True)
class VerifiedProof:
    """What a valid proof tells: the device key and the proof's id."""

    jkt: str
    public_key: str
    jti: str


def _public_key(header: dict) -> tuple[str, Ed25519PublicKey]:
    jwk = header.get("jwk")
    if (not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519"
            or "d" in jwk or not isinstance(jwk.get("x"), str)):
        raise InvalidProof("The proof must carry the device's public Ed25519 key.")
    try:
        raw = b64url_decode(jwk["x"])
        if len(raw) != 32:
            raise ValueError("wrong key length")
        return jwk["x"], Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise InvalidProof("The proof's key is not a valid Ed25519 key.") from exc


def _is_time(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_times(claims: dict, now: float, window: int) -> None:
    """iat within the window; exp and nbf, optional in a proof, honoured when present."""
    iat, exp, nbf = claims.get("iat"), claims.get("exp", now), claims.get("nbf", now)
    if not _is_time(iat):
        raise InvalidProof("The proof needs an iat.")
    if abs(now - iat) > window:
        raise InvalidProof("The proof is stale or from the future.")
    if not (_is_time(exp) and _is_time(nbf)) or exp < now - window or nbf > now + window:
        raise InvalidProof("The proof is expired or not valid yet.")


@dataclass(frozen=True)
class _Compact:
    """A compact JWS split and decoded, not yet verified."""

    header: dict
    signing_input: bytes
    payload: bytes
    signature: bytes


def _parse(token: str) -> _Compact:
    """Split and decode a compact JWS once (ValueError when it is not one)."""
    header_segment, payload_segment, signature_segment = token.split(".")
    header = json.loads(_decode_segment(header_segment))
    if not isinstance(header, dict):
        raise ValueError("header is not a JSON object")
    if header.get("kid") is not None and not isinstance(header["kid"], str):
        raise ValueError("kid is not a string")
    if header.get("b64", True) is not True:
        raise ValueError("detached payloads are not accepted")
    return _Compact(header, f"{header_segment}.{payload_segment}".encode("ascii"),
                    _decode_segment(payload_segment), _decode_segment(signature_segment))


def _verified_claims(compact: _Compact, key: Ed25519PublicKey) -> dict:
    """The claims of a proof whose Ed25519 signature verifies."""
    try:
        key.verify(compact.signature, compact.signing_input)
        claims = json.loads(compact.payload)
    except (InvalidSignature, ValueError, RecursionError) as exc:
        raise InvalidProof("The proof's signature does not verify.") from exc
    if not isinstance(claims, dict) or not isinstance(claims.get("sub", ""), str):
        raise InvalidProof("The proof's signature does not verify.")
    return claims


def verify_proof(token: str | None, method: str, url: str, now: datetime,
                 window_seconds: int) -> VerifiedProof:
    """Check a DPoP proof's form, signature, method, URL and age.

    The token is parsed once and its signature checked with `cryptography`
    directly: on the refresh hot path PyJWT decoded every segment twice and
    spent more time validating base64 than verifying the signature.
    """
    if not token or len(token) > MAX_PROOF_LENGTH:
        raise InvalidProof("A DPoP proof is required.")
    try:
        compact = _parse(token)
    except (ValueError, RecursionError) as exc:
        raise InvalidProof("The DPoP proof is malformed.") from exc
    header = compact.header
    if header.get("typ") != "dpop+jwt" or header.get("alg") != "EdDSA":
        raise InvalidProof("The proof must be a dpop+jwt signed with EdDSA.")
    if _FORBIDDEN_HEADER.intersection(header):
        raise InvalidProof("The proof may name its key only by jwk.")
    x, key = _public_key(header)
    claims = _verified_claims(compact, key)
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:
        raise InvalidProof("The proof needs a jti.")
    _check_times(claims, now.timestamp(), window_seconds)
    if claims.get("htm") != method:
        raise InvalidProof("The proof was made for another method.")
    htu = claims.get("htu")
    if not isinstance(htu, str) or not _same_url(htu, url):
        raise InvalidProof("The proof was made for another URL.")
    return VerifiedProof(jkt=jwk_thumbprint(x), public_key=x, jti=jti)


def _decode_segment(text: str) -> bytes:
    """One segment of a compact JWS: canonical base64url, padding as PyJWT allows it."""
    return b64url_decode(text, padding=True)
