"""Ed25519 leases under either JOSE name: "EdDSA" (RFC 8037) or "Ed25519" (RFC 9864).

A later service may head its leases with the fully specified name; clients in
the field must accept it before it does (README, "Changing the lease algorithm").
"""

from __future__ import annotations

import base64
import json

import pytest

from tessera_client import (
    DeviceKey,
    LeaseAlgorithmRefused,
    LeaseSignatureInvalid,
    LeaseVerifier,
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def headed(alg: str, signer, claims: dict, sign=None) -> str:
    """A lease with header alg ALG, signed with the service key (or SIGN)."""
    header = {"alg": alg, "typ": "lease+jwt", "kid": signer.kid}
    signing_input = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    signature = (sign or signer.key.sign)(signing_input.encode())
    return signing_input + "." + _b64(signature)


@pytest.fixture
def device() -> DeviceKey:
    return DeviceKey.generate()


def verifier_for(signer, device, kit, jwks=None) -> LeaseVerifier:
    return LeaseVerifier(product=kit.PRODUCT, device_thumbprint=device.thumbprint,
                         jwks=jwks or signer.jwks, issuer=kit.ISSUER)


@pytest.mark.parametrize("alg", ["EdDSA", "Ed25519"])
def test_a_lease_under_either_name_verifies(signer, device, kit, alg):
    token = headed(alg, signer, signer.claims(device.thumbprint))
    lease = verifier_for(signer, device, kit).verify(token, now=kit.NOW + 60)
    assert lease.activation_id == "act_123"


def test_a_key_published_under_the_new_name_verifies_both(signer, device, kit):
    jwks = {"keys": [dict(signer.public_jwk, alg="Ed25519")]}
    verifier = verifier_for(signer, device, kit, jwks)
    for alg in ("EdDSA", "Ed25519"):
        token = headed(alg, signer, signer.claims(device.thumbprint))
        assert verifier.verify(token, now=kit.NOW + 60).key_id == signer.kid


def test_an_ed25519_lease_with_a_bad_signature_is_refused(signer, device, kit):
    other = DeviceKey.generate()
    token = headed("Ed25519", signer, signer.claims(device.thumbprint),
                   sign=other.private_key.sign)
    with pytest.raises(LeaseSignatureInvalid):
        verifier_for(signer, device, kit).verify(token, now=kit.NOW + 60)


@pytest.mark.parametrize("alg", ["ed25519", "Ed448", "ES256", "HS256", "none"])
def test_other_names_stay_refused(signer, device, kit, alg):
    token = headed(alg, signer, signer.claims(device.thumbprint))
    with pytest.raises(LeaseAlgorithmRefused):
        verifier_for(signer, device, kit).verify(token, now=kit.NOW + 60)
