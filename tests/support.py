"""Test doubles of a desktop device: a real Ed25519 key making real DPoP proofs."""

from __future__ import annotations

import json
import secrets
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.encoding import b64url_decode, jwk_thumbprint
from core.encoding import b64url_encode as b64


class Device:
    """A desktop installation: a fingerprint and a device key."""

    def __init__(self, fingerprint: str | None = None, base_url: str = "http://localhost"):
        self.fingerprint = fingerprint or "fp-" + secrets.token_hex(16)
        self.key = Ed25519PrivateKey.generate()
        self.base_url = base_url.rstrip("/")

    @property
    def x(self) -> str:
        raw = self.key.public_key().public_bytes(serialization.Encoding.Raw,
                                                 serialization.PublicFormat.Raw)
        return b64(raw)

    @property
    def jkt(self) -> str:
        return jwk_thumbprint(self.x)

    def proof(self, method: str, path: str, *, iat: float | None = None, jti: str | None = None,
              htu: str | None = None, key: Ed25519PrivateKey | None = None,
              headers: dict | None = None) -> str:
        """A DPoP proof for METHOD and PATH."""
        header = {"typ": "dpop+jwt", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": self.x}}
        header.update(headers or {})
        claims = {"jti": jti or secrets.token_urlsafe(16), "htm": method,
                  "htu": htu or self.base_url + path,
                  "iat": int(iat if iat is not None else time.time())}
        return jwt.encode(claims, key or self.key, algorithm="EdDSA", headers=header)

    def activation_body(self, product: str = "numflo", **extra) -> dict:
        return {"product": product, "fingerprint": self.fingerprint, **extra}

    def activate(self, client, product: str = "numflo", **extra):
        """POST /v1/activations through a Flask test client."""
        path = "/v1/activations"
        return client.post(path, json=self.activation_body(product, **extra),
                           headers={"DPoP": self.proof("POST", path)})

    def refresh(self, client, activation_id: str, **kwargs):
        path = f"/v1/activations/{activation_id}/refresh"
        return client.post(path, json={}, headers={"DPoP": self.proof("POST", path, **kwargs)})

    def deactivate(self, client, activation_id: str):
        path = f"/v1/activations/{activation_id}"
        return client.delete(path, headers={"DPoP": self.proof("DELETE", path)})


def decode_lease(token: str, jwks: dict) -> dict:
    """Verify a lease against a JWKS document, as a client would."""
    kid = jwt.get_unverified_header(token)["kid"]
    (jwk,) = [k for k in jwks["keys"] if k["kid"] == kid]
    return jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["EdDSA"],
                      options={"verify_aud": False})


def unverified_claims(token: str) -> dict:
    return json.loads(b64url_decode(token.split(".")[1]))


def unverified_header(token: str) -> dict:
    return json.loads(b64url_decode(token.split(".")[0]))
