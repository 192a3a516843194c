"""Offline activation files kept in tests/vectors/, and what went into them.

The device (tessera_client) writes request files and reads licence files; the
service (licensing.activation.offline_files) reads requests and writes licence
files. Neither imports the other, so each side is held to these files: the
writer must reproduce them byte for byte, the reader must read them.
Ed25519 signatures are deterministic, so a fixed key gives fixed files.
"""

from __future__ import annotations

from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

VECTORS = Path(__file__).resolve().parent / "vectors"
NOW = 1_800_000_000
# RFC 8032 section 7.1, tests 1 and 2: published keys, so nothing secret is kept here.
DEVICE_KEY = Ed25519PrivateKey.from_private_bytes(
    bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
LEASE_KEY = Ed25519PrivateKey.from_private_bytes(
    bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"))
DEVICE_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
DEVICE_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
LEASE_KID = "lease-vector"
LEASE_X = "PUAXw-hDiVqStwqnTRt-vJyYLM8uxJaMwM1V8Sr0Zgw"

REQUEST = {
    "product": "numflo",
    "fingerprint": "0123456789abcdef" * 4,
    "issued_at": NOW,
    "device_name": "test-rig",
    "platform": "linux-x86_64",
    "token_id": "vector-request-0000000001",
}
LEASE_CLAIMS = {
    "iss": "tessera-test",
    "sub": "act_vector",
    "aud": "numflo",
    "lic": "lic_vector",
    "ent": ["solver", "mesher"],
    "cnf": {"jkt": DEVICE_THUMBPRINT},
    "iat": NOW,
    "nbf": NOW,
    "exp": NOW + 90 * 86400,
    "rfa": NOW + 45 * 86400,
    "jti": "lease-vector-0001",
}
LEASE = jwt.encode(LEASE_CLAIMS, LEASE_KEY, algorithm="EdDSA",
                   headers={"typ": "lease+jwt", "kid": LEASE_KID})
JWKS = {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": LEASE_X, "kid": LEASE_KID,
                  "use": "sig", "alg": "EdDSA"}]}
LICENSE = {"id": "lic_vector", "product": "numflo", "kind": "perpetual",
           "entitlements": ["solver", "mesher"]}


def request_file() -> str:
    """The request file the device writes for REQUEST with DEVICE_KEY."""
    return (VECTORS / "offline-request.txt").read_text(encoding="ascii")


def license_file() -> str:
    """The licence file the service writes for LEASE, JWKS and LICENSE."""
    return (VECTORS / "offline-license.txt").read_text(encoding="ascii")
