"""Offline verification of lease JWS tokens against trusted keys."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from . import errors
from .clock import DEFAULT_CLOCK_TOLERANCE, check_clock
from .jwk import b64url_decode, signing_keys, validate_jwks

LEASE_TYPE = "lease+jwt"
MAX_LEASE_LENGTH = 16 * 1024
# Headers that would let a token choose its own key, or change how it is read.
REFUSED_HEADERS = frozenset({"jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256", "crit", "b64"})

_jws = jwt.PyJWS(algorithms=["EdDSA"])


@dataclass(frozen=True)
class Lease:
    """The verified claims of a lease."""

    token: str
    key_id: str
    issuer: str | None
    activation_id: str
    audience: tuple[str, ...]
    license_id: str | None
    entitlements: tuple[str, ...]
    thumbprint: str
    issued_at: int
    not_before: int
    expires_at: int
    refresh_after: int | None
    license_expires_at: int | None
    token_id: str | None

    def refresh_due(self, now: float) -> bool:
        """Tell whether the service asked to be asked for a new lease by now."""
        return self.refresh_after is not None and now >= self.refresh_after


class LeaseVerifier:
    """Check leases for one product and one device key against pinned keys."""

    def __init__(
        self,
        *,
        product: str,
        device_thumbprint: str,
        jwks: dict[str, Any] | None,
        issuer: str | None = None,
        fetch_jwks: Callable[[], dict[str, Any]] | None = None,
        clock_tolerance: float = DEFAULT_CLOCK_TOLERANCE,
        leeway: float | None = None,
    ) -> None:
        self.product = product
        self.device_thumbprint = device_thumbprint
        self.jwks = jwks
        self.jwks_changed = False
        self.issuer = issuer
        self.fetch_jwks = fetch_jwks
        self.clock_tolerance = clock_tolerance
        # A clock we tolerate being behind must not make a fresh lease "not yet valid".
        self.leeway = clock_tolerance if leeway is None else leeway

    def verify(self, token: str, *, now: float, last_seen: int | None = None) -> Lease:
        """Return the lease's claims, or raise the LeaseInvalid saying why not."""
        header = read_header(token)
        check_header(header)
        key = self._key_for(header["kid"])
        lease = lease_from_claims(token, header, verified_claims(token, key))
        self._check_binding(lease)
        check_clock(now, last_seen, self.clock_tolerance)
        # A lease signed at a time our clock has not reached means our clock is behind.
        check_clock(now, lease.issued_at, self.clock_tolerance)
        self._check_window(lease, now)
        return lease

    def _key_for(self, kid: str) -> Ed25519PublicKey:
        """Find the trusted key for ``kid``, fetching the JWKS once if it is new."""
        keys = self._trusted_keys()
        if kid in keys:
            return keys[kid]
        if self.fetch_jwks is None:
            raise errors.UnknownSigningKey(f"lease signed by unknown key {kid!r}")
        try:
            fetched = validate_jwks(self.fetch_jwks())
        except (errors.ClientError, ValueError) as exc:
            raise errors.UnknownSigningKey(
                f"lease signed by unknown key {kid!r}; keys not refreshed"
            ) from exc
        self.jwks, self.jwks_changed = fetched, True
        keys = self._trusted_keys()
        if kid not in keys:
            raise errors.UnknownSigningKey(
                f"lease signed by key {kid!r}, which the service does not publish"
            )
        return keys[kid]

    def _trusted_keys(self) -> dict[str, Ed25519PublicKey]:
        """Return the pinned keys by kid (none when nothing is pinned yet)."""
        if self.jwks is None:
            return {}
        try:
            return signing_keys(self.jwks)
        except ValueError as exc:
            raise errors.UnknownSigningKey(f"pinned keys unusable: {exc}") from exc

    def _check_binding(self, lease: Lease) -> None:
        """Check the lease is for this product, this device and this issuer."""
        if self.product not in lease.audience:
            raise errors.LeaseNotForThisProduct(
                f"lease is for {', '.join(lease.audience)}, not {self.product}"
            )
        if lease.thumbprint != self.device_thumbprint:
            raise errors.LeaseNotForThisDevice("lease is bound to another device key")
        if self.issuer is not None and lease.issuer != self.issuer:
            raise errors.LeaseWrongIssuer(
                f"lease issued by {lease.issuer!r}, expected {self.issuer!r}"
            )

    def _check_window(self, lease: Lease, now: float) -> None:
        """Check nbf and exp against the local clock."""
        if now + self.leeway < lease.not_before:
            raise errors.LeaseNotYetValid("lease is not valid yet")
        if now >= lease.expires_at:
            raise errors.LeaseExpired("lease has expired; connect to refresh it")


def read_header(token: Any) -> dict[str, Any]:
    """Decode a compact JWS header without trusting it."""
    if not isinstance(token, str) or len(token) > MAX_LEASE_LENGTH or token.count(".") != 2:
        raise errors.LeaseMalformed("lease is not a compact JWS")
    try:
        header = json.loads(b64url_decode(token.split(".", 1)[0]))
    except (ValueError, RecursionError) as exc:  # bad base64, UTF-8, JSON or nesting
        raise errors.LeaseMalformed("lease header is not base64url JSON") from exc
    if not isinstance(header, dict):
        raise errors.LeaseMalformed("lease header is not a JSON object")
    return header


def check_header(header: dict[str, Any]) -> None:
    """Refuse any header but an EdDSA lease+jwt naming a key id."""
    # Pinned before any key is touched: no 'none', no HMAC keyed with a public key.
    if header.get("alg") != "EdDSA":
        raise errors.LeaseAlgorithmRefused(f"lease algorithm {header.get('alg')!r} refused")
    if header.get("typ") != LEASE_TYPE:
        raise errors.LeaseTypeRefused(f"token type {header.get('typ')!r} is not {LEASE_TYPE}")
    refused = REFUSED_HEADERS.intersection(header)
    if refused:
        raise errors.LeaseHeaderRefused(f"lease header may not carry {', '.join(sorted(refused))}")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise errors.LeaseMalformed("lease header names no key id")


def verified_claims(token: str, key: Ed25519PublicKey) -> dict[str, Any]:
    """Verify the EdDSA signature and return the claims object."""
    try:
        payload = _jws.decode_complete(token, key=key, algorithms=["EdDSA"])["payload"]
    except jwt.InvalidSignatureError as exc:
        raise errors.LeaseSignatureInvalid("lease signature does not verify") from exc
    except jwt.InvalidAlgorithmError as exc:
        raise errors.LeaseAlgorithmRefused("lease algorithm refused") from exc
    except jwt.InvalidTokenError as exc:
        raise errors.LeaseMalformed("lease is not a readable JWS") from exc
    try:
        claims = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise errors.LeaseMalformed("lease claims are not JSON") from exc
    if not isinstance(claims, dict):
        raise errors.LeaseMalformed("lease claims are not a JSON object")
    return claims


def lease_from_claims(token: str, header: dict[str, Any], claims: dict[str, Any]) -> Lease:
    """Type-check the claims the contract defines and build a Lease."""
    lease = Lease(
        token=token,
        key_id=header["kid"],
        issuer=_optional(claims, "iss", str),
        activation_id=_required_text(claims, "sub"),
        audience=_audience(claims.get("aud")),
        license_id=_optional(claims, "lic", str),
        entitlements=_entitlements(claims.get("ent", [])),
        thumbprint=_thumbprint(claims.get("cnf")),
        issued_at=_time(claims, "iat"),
        not_before=_time(claims, "nbf"),
        expires_at=_time(claims, "exp"),
        refresh_after=_time(claims, "rfa", required=False),
        license_expires_at=_time(claims, "lxp", required=False),
        token_id=_optional(claims, "jti", str),
    )
    if not lease.not_before <= lease.expires_at or not lease.issued_at <= lease.expires_at:
        raise errors.LeaseMalformed("lease times are inconsistent")
    return lease


def _required_text(claims: dict[str, Any], name: str) -> str:
    """Return a required non-empty string claim."""
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise errors.LeaseMalformed(f"lease claim {name!r} missing or not text")
    return value


def _optional(claims: dict[str, Any], name: str, kind: type) -> Any:
    """Return an optional claim of one type, None when absent."""
    value = claims.get(name)
    if value is not None and not isinstance(value, kind):
        raise errors.LeaseMalformed(f"lease claim {name!r} has the wrong type")
    return value


def _audience(value: Any) -> tuple[str, ...]:
    """Read ``aud`` as a string or a list of strings (RFC 7519 allows both)."""
    if isinstance(value, str) and value:
        return (value,)
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise errors.LeaseMalformed("lease claim 'aud' missing or malformed")


def _entitlements(value: Any) -> tuple[str, ...]:
    """Read ``ent`` as a list of strings."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise errors.LeaseMalformed("lease claim 'ent' is not a list of strings")
    return tuple(value)


def _thumbprint(value: Any) -> str:
    """Read ``cnf.jkt``; a lease not bound to a key is useless to us."""
    if not isinstance(value, dict) or not isinstance(value.get("jkt"), str) or not value["jkt"]:
        raise errors.LeaseMalformed("lease claim 'cnf.jkt' missing")
    return value["jkt"]


def _time(claims: dict[str, Any], name: str, *, required: bool = True) -> int | None:
    """Read a NumericDate claim as whole seconds."""
    value = claims.get(name)
    if value is None and not required:
        return None
    # bool is an int in Python; true is not a time.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise errors.LeaseMalformed(f"lease claim {name!r} missing or not a number")
    try:
        return int(value)
    except (OverflowError, ValueError) as exc:  # JSON lets NaN and Infinity through
        raise errors.LeaseMalformed(f"lease claim {name!r} is not a finite time") from exc
