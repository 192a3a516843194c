"""Lease-signing keys (rotation, JWKS) and the Ed25519 lease itself."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.database import utcnow
from core.encoding import b64url_decode, b64url_encode
from licensing.activation.refresh import LicenseTerms
from licensing.catalog.models import License
from licensing.signing.models import SigningKey

_RAW = serialization.Encoding.Raw
DEFAULT_LONGEST_LEASE = 90 * 86400


def _jwk(key: SigningKey) -> dict:
    return {"kty": "OKP", "crv": "Ed25519", "x": key.public_key, "kid": key.kid,
            "use": "sig", "alg": "EdDSA"}


@dataclass(frozen=True)
class Signer:
    """The key that signs leases now, loaded once."""

    kid: str
    private_key: Ed25519PrivateKey

    def sign(self, claims: dict) -> str:
        """A compact EdDSA JWS of CLAIMS (typ lease+jwt, this key's kid), made by PyJWT."""
        return jwt.encode(claims, self.private_key, algorithm="EdDSA",
                          headers={"kid": self.kid, "typ": "lease+jwt"})


class KeyService:
    """Create, rotate and publish lease-signing keys."""

    def __init__(self, session, clock=utcnow):
        self._session = session
        self._clock = clock

    def create(self, activates_at: datetime | None = None) -> SigningKey:
        """Make a new key pair; it is published at once and signs from ACTIVATES_AT."""
        private = Ed25519PrivateKey.generate()
        key = SigningKey(
            kid=b64url_encode(secrets.token_bytes(12)),
            public_key=b64url_encode(private.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)),
            private_key=b64url_encode(private.private_bytes(_RAW, serialization.PrivateFormat.Raw,
                                                   serialization.NoEncryption())),
            created_at=self._clock(), activates_at=activates_at or self._clock())
        self._session.add(key)
        self._session.flush()
        return key

    def current(self) -> SigningKey | None:
        """The newest key whose signing time has come."""
        return self._session.scalars(
            sa.select(SigningKey).where(SigningKey.activates_at <= self._clock())
            .order_by(SigningKey.activates_at.desc(), SigningKey.created_at.desc()).limit(1)
        ).first()

    def ensure(self) -> SigningKey:
        """The current key, creating the first one on an empty database."""
        return self.current() or self.create()

    def longest_lease_seconds(self) -> int:
        """The longest lease any license can issue: how long a retired key stays published."""
        online, offline = self._session.execute(sa.select(
            sa.func.max(License.lease_seconds), sa.func.max(License.offline_lease_seconds))).one()
        return max(online or 0, offline or 0) or DEFAULT_LONGEST_LEASE

    def rotate(self, publish_ahead_seconds: int) -> SigningKey:
        """Publish a new key that starts signing after every key cache has refreshed."""
        activates_at = self._clock() + timedelta(seconds=publish_ahead_seconds)
        retire_at = activates_at + timedelta(seconds=self.longest_lease_seconds())
        for key in self._session.scalars(
                sa.select(SigningKey).where(SigningKey.published_until.is_(None))):
            key.published_until = retire_at
        return self.create(activates_at=activates_at)

    def published(self) -> list[SigningKey]:
        """Every key that may have signed a lease still in use."""
        now = self._clock()
        return list(self._session.scalars(
            sa.select(SigningKey)
            .where(sa.or_(SigningKey.published_until.is_(None), SigningKey.published_until > now))
            .order_by(SigningKey.created_at)))

    def jwks(self) -> dict:
        """The JWKS document of the published keys."""
        return {"keys": [_jwk(key) for key in self.published()]}


class SignerCache:
    """The process's signer, reloaded at most every TTL seconds.

    Loading means a query and a decryption; doing it per request would put both
    on the refresh hot path.
    """

    def __init__(self, ttl_seconds: int):
        self._ttl = ttl_seconds
        self._lock = threading.Lock()
        self._signer: Signer | None = None
        self._loaded_at = 0.0

    def get(self, keys: KeyService) -> Signer:
        """The signer to use now."""
        signer = self._signer
        if signer is not None and time.monotonic() - self._loaded_at < self._ttl:
            return signer
        with self._lock:
            record = keys.ensure()
            if self._signer is None or self._signer.kid != record.kid:
                raw = b64url_decode(record.private_key)
                self._signer = Signer(record.kid, Ed25519PrivateKey.from_private_bytes(raw))
            self._loaded_at = time.monotonic()
            return self._signer

    def clear(self) -> None:
        """Forget the cached signer (after a rotation in this process)."""
        with self._lock:
            self._signer = None


@dataclass(frozen=True)
class Lease:
    """A signed lease and its times."""

    token: str
    issued_at: datetime
    expires_at: datetime
    refresh_after: datetime


def lease_expiry(license: License | LicenseTerms, now: datetime, lease_seconds: int) -> datetime:
    """exp = min(now + lease, license end + grace); no end for perpetual."""
    expires = now + timedelta(seconds=lease_seconds)
    if license.expires_at is not None:
        expires = min(expires, license.expires_at + timedelta(seconds=license.grace_seconds))
    return expires


def sign_lease(signer: Signer, *, issuer: str, seat_id: str, product_code: str,
               license: License | LicenseTerms, jkt: str, now: datetime, lease_seconds: int) -> Lease:
    """Sign a lease for one seat, bound to the device key thumbprint JKT."""
    issued = now.replace(microsecond=0)
    expires = lease_expiry(license, issued, lease_seconds)
    refresh_after = issued + (expires - issued) / 2
    claims = {
        "iss": issuer, "sub": seat_id, "aud": product_code, "lic": license.id,
        "ent": list(license.entitlements or []), "cnf": {"jkt": jkt},
        "iat": int(issued.timestamp()), "nbf": int(issued.timestamp()),
        "exp": int(expires.timestamp()), "rfa": int(refresh_after.timestamp()),
        "lxp": int(license.expires_at.timestamp()) if license.expires_at else None,
        "jti": b64url_encode(secrets.token_bytes(16)),
    }
    token = signer.sign(claims)
    return Lease(token, issued, expires.replace(microsecond=0),
                 refresh_after.replace(microsecond=0))
