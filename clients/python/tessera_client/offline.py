"""The device's half of air-gapped activation: write the request file, read the licence file.

Both files are ASCII armour: a BEGIN line, base64 wrapped at 64 columns, an
END line; text around the block (an e-mail, a note) is ignored. The service
keeps the other half (reading requests, writing licence files) on its own
side; shared test vectors keep the two byte-compatible. Pure functions: no
files, no network.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .errors import LicenseFileInvalid, OfflineFileInvalid
from .fingerprint import validate_fingerprint
from .jwk import public_jwk, validate_jwks

REQUEST_LABEL = "TESSERA ACTIVATION REQUEST"
LICENSE_LABEL = "TESSERA LICENSE"
REQUEST_TYPE = "tessera-offline-request+jwt"
LICENSE_FORMAT = "tessera-license"
LICENSE_VERSION = 1
MAX_FILE_CHARS = 64 * 1024  # the service's body limit
LINE_WIDTH = 64
REQUEST_CLAIMS = frozenset({"product", "fingerprint", "device_name", "platform", "iat", "jti"})
TEXT_LIMITS = {"product": 64, "device_name": 64, "platform": 32}


@dataclass(frozen=True)
class LicenseFile:
    """The parts of a licence file; the lease is not verified yet."""

    lease: str
    jwks: dict[str, Any]
    license: dict[str, Any] | None = None


def build_activation_request(
    private_key: Ed25519PrivateKey,
    *,
    product: str,
    fingerprint: str,
    issued_at: int,
    device_name: str | None = None,
    platform: str | None = None,
    token_id: str | None = None,
) -> str:
    """Return the request file text, signed by the device key it carries."""
    claims: dict[str, Any] = {
        "product": product,
        "fingerprint": fingerprint,
        "iat": int(issued_at),
        "jti": token_id or secrets.token_urlsafe(24),
    }
    if device_name is not None:
        claims["device_name"] = device_name
    if platform is not None:
        claims["platform"] = platform
    _check_request_claims(claims)
    headers = {"typ": REQUEST_TYPE, "jwk": public_jwk(private_key.public_key())}
    token = jwt.encode(claims, private_key, algorithm="EdDSA", headers=headers)
    return armor(REQUEST_LABEL, token.encode("ascii"))


def parse_license_file(text: str) -> LicenseFile:
    """Read a licence file's lease, keys and display details (nothing is verified)."""
    raw = unarmor(LICENSE_LABEL, text, LicenseFileInvalid)
    try:
        body = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise LicenseFileInvalid("licence file does not hold JSON") from exc
    _check_license_body(body)
    return LicenseFile(lease=body["lease"], jwks=body["jwks"], license=body.get("license"))


def armor(label: str, payload: bytes) -> str:
    """Wrap bytes as base64 between BEGIN and END lines."""
    encoded = base64.b64encode(payload).decode("ascii")
    lines = [encoded[i : i + LINE_WIDTH] for i in range(0, len(encoded), LINE_WIDTH)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"]) + "\n"


def unarmor(label: str, text: str, error: type[OfflineFileInvalid] = OfflineFileInvalid) -> bytes:
    """Return the bytes of the single armoured block with this label."""
    if not isinstance(text, str) or len(text) > MAX_FILE_CHARS:
        raise error("file is not text or is too large")
    begin, end = f"-----BEGIN {label}-----", f"-----END {label}-----"
    lines = [line.strip() for line in text.splitlines()]
    if lines.count(begin) != 1 or lines.count(end) != 1:
        raise error(f"file must hold exactly one {label} block")
    start, stop = lines.index(begin), lines.index(end)
    if stop <= start + 1:
        raise error(f"{label} block is empty")
    try:
        return base64.b64decode("".join(lines[start + 1 : stop]), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise error(f"{label} block is not base64") from exc


def _check_request_claims(claims: dict[str, Any]) -> None:
    """Refuse before signing what the service would refuse (the activation body's limits)."""
    unknown = set(claims) - REQUEST_CLAIMS
    if unknown:
        raise ValueError(f"request has unknown claims: {', '.join(sorted(unknown))}")
    for name, limit in TEXT_LIMITS.items():
        value = claims.get(name)
        required = name == "product"
        if (value is None and required) or (value is not None and not _short_text(value, limit)):
            raise ValueError(f"request claim {name!r} must be text of 1..{limit} characters")
    validate_fingerprint(claims.get("fingerprint"))
    if isinstance(claims.get("iat"), bool) or not isinstance(claims.get("iat"), int):
        raise ValueError("request claim 'iat' must be whole seconds")
    if not _short_text(claims.get("jti"), 128) or len(claims["jti"]) < 16:
        raise ValueError("request claim 'jti' must be 16..128 characters")


def _short_text(value: Any, limit: int) -> bool:
    """Tell whether a value is printable text of 1..limit characters."""
    return isinstance(value, str) and 0 < len(value) <= limit and value.isprintable()


def _check_license_body(body: Any) -> None:
    """Check the licence file object: format, version, a JWS and a usable JWKS."""
    if not isinstance(body, dict) or body.get("format") != LICENSE_FORMAT:
        raise LicenseFileInvalid("not a Tessera licence file")
    if body.get("version") != LICENSE_VERSION:
        raise LicenseFileInvalid(f"licence file version {body.get('version')!r} not supported")
    lease = body.get("lease")
    if not isinstance(lease, str) or lease.count(".") != 2 or not lease.isascii():
        raise LicenseFileInvalid("licence file holds no lease JWS")
    try:
        validate_jwks(body.get("jwks"))
    except ValueError as exc:
        raise LicenseFileInvalid(f"licence file keys unusable: {exc}") from exc
    if body.get("license") is not None and not isinstance(body["license"], dict):
        raise LicenseFileInvalid("licence file 'license' must be an object")
    unknown = set(body) - {"format", "version", "lease", "jwks", "license"}
    if unknown:
        raise LicenseFileInvalid(f"licence file has unknown fields: {', '.join(sorted(unknown))}")
