"""The service's half of air-gapped activation: read request files, write licence files.

A device writes the request and reads the licence file with the `tessera-client`
distribution, which the service never imports: each side holds only its own half
of the format, and shared test vectors (tests/vectors/) keep the two
byte-compatible. Both files are ASCII armour: a BEGIN line, base64 wrapped at
64 columns, an END line; text around the block (an e-mail, a note) is ignored.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from marshmallow import ValidationError, fields, validate

from core.encoding import b64url_encode, jwk_thumbprint
from licensing.activation.schemas import DeviceFields

REQUEST_TYPE = "tessera-offline-request+jwt"
REQUEST_HEADER = frozenset({"alg", "typ", "jwk"})
LICENSE_LABEL = "TESSERA LICENSE"
LICENSE_FORMAT = "tessera-license"
LICENSE_VERSION = 1
LINE_WIDTH = 64
# Exactly one block; its BEGIN and END lines may carry stray blanks or a CR from a mail client.
_REQUEST_BLOCK = re.compile(r"^[ \t]*-----BEGIN TESSERA ACTIVATION REQUEST-----\s*$(.*?)"
                            r"^[ \t]*-----END TESSERA ACTIVATION REQUEST-----\s*$", re.M | re.S)
_jws = jwt.PyJWS(algorithms=["EdDSA"])


class OfflineRequestInvalid(ValueError):
    """The text is not a well-formed activation request signed by the key it carries."""


@dataclass(frozen=True)
class ActivationRequest:
    """A verified offline activation request."""

    product: str
    fingerprint: str
    device_name: str | None
    platform: str | None
    issued_at: int
    token_id: str
    public_jwk: dict[str, str]
    thumbprint: str


class _RequestClaims(DeviceFields):
    """The online activation body's device fields, plus when and which request this is."""

    iat = fields.Integer(required=True, strict=True)
    jti = fields.String(required=True, validate=validate.Length(16, 128))


def parse_activation_request(text: str, *, now: float, max_age: float,
                             leeway: float = 300) -> ActivationRequest:
    """Verify a request file's signature by its own key, its claims and its age."""
    token = _request_token(text)
    key, x = _request_key(token)
    claims = _request_claims(token, key)
    if claims["iat"] > now + leeway:
        raise OfflineRequestInvalid("request is dated in the future")
    if now - claims["iat"] > max_age:
        raise OfflineRequestInvalid("request is too old")
    return ActivationRequest(
        product=claims["product"], fingerprint=claims["fingerprint"],
        device_name=claims.get("device_name"), platform=claims.get("platform"),
        issued_at=claims["iat"], token_id=claims["jti"],
        public_jwk={"kty": "OKP", "crv": "Ed25519", "x": x}, thumbprint=jwk_thumbprint(x))


def build_license_file(lease: str, jwks: dict[str, Any],
                       license: dict[str, Any] | None = None) -> str:
    """Return the licence file text for a lease and the keys that verify it."""
    body: dict[str, Any] = {"format": LICENSE_FORMAT, "version": LICENSE_VERSION,
                            "lease": lease, "jwks": jwks}
    if license is not None:
        body["license"] = license
    encoded = base64.b64encode(json.dumps(body, separators=(",", ":"), sort_keys=True,
                                          ensure_ascii=True).encode("ascii")).decode("ascii")
    lines = [encoded[i:i + LINE_WIDTH] for i in range(0, len(encoded), LINE_WIDTH)]
    return "\n".join([f"-----BEGIN {LICENSE_LABEL}-----", *lines,
                      f"-----END {LICENSE_LABEL}-----"]) + "\n"


def _request_token(text: str) -> str:
    """The compact JWS inside the one request block of the text."""
    blocks = _REQUEST_BLOCK.findall(text)
    if len(blocks) != 1:
        raise OfflineRequestInvalid("text must hold exactly one request block")
    try:
        return base64.b64decode("".join(blocks[0].split()), validate=True).decode("ascii")
    except (binascii.Error, ValueError) as exc:
        raise OfflineRequestInvalid("request block is not base64 of a JWS") from exc


def _request_key(token: str) -> tuple[Ed25519PublicKey, str]:
    """The device key the header carries: EdDSA, our type, a public Ed25519 JWK, nothing else."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise OfflineRequestInvalid("request header unreadable") from exc
    if set(header) != REQUEST_HEADER or (header["alg"], header["typ"]) != ("EdDSA", REQUEST_TYPE):
        raise OfflineRequestInvalid("request header must be exactly alg EdDSA, typ and jwk")
    jwk = header["jwk"]
    # A JWK with a private part is a leak or a mistake: never turn it into a key.
    if not isinstance(jwk, dict) or "d" in jwk or not isinstance(jwk.get("x"), str):
        raise OfflineRequestInvalid("request key is not a public JWK")
    try:
        key = jwt.PyJWK(jwk, algorithm="EdDSA").key
    except (jwt.PyJWTError, ValueError) as exc:
        raise OfflineRequestInvalid("request key unusable") from exc
    # One key, one spelling: the thumbprint that binds the seat is taken over x as written.
    canonical = isinstance(key, Ed25519PublicKey) and b64url_encode(key.public_bytes_raw())
    if canonical != jwk["x"]:
        raise OfflineRequestInvalid("request key is not a canonical Ed25519 key")
    return key, jwk["x"]


def _request_claims(token: str, key: Ed25519PublicKey) -> dict[str, Any]:
    """Verify the signature by the request's own key; check the claims."""
    try:
        payload = json.loads(_jws.decode_complete(token, key=key, algorithms=["EdDSA"])["payload"])
        return _RequestClaims().load(payload)
    except jwt.InvalidSignatureError as exc:
        raise OfflineRequestInvalid("request signature does not verify") from exc
    except (jwt.PyJWTError, ValidationError, ValueError, RecursionError) as exc:
        raise OfflineRequestInvalid("request claims outside the format") from exc
