"""DPoP proofs: the header and claims RFC 9449 and API.md require, signed by the device key."""

from __future__ import annotations

import base64

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tessera_client import DeviceKey, make_proof, proof_target_uri


def _verify(proof: str) -> tuple[dict, dict]:
    """Check a proof the way the service does: with the key in its own header."""
    header = jwt.get_unverified_header(proof)
    x = header["jwk"]["x"]
    key = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(x + "=" * (-len(x) % 4)))
    return header, jwt.decode(proof, key, algorithms=["EdDSA"], options={"verify_iat": False})


def test_proof_header_and_claims_follow_the_contract(kit):
    key = DeviceKey.generate()
    proof = make_proof(
        key, "post", "https://tessera.test/v1/activations?x=1#frag", now=kit.NOW + 0.7
    )

    header, claims = _verify(proof)

    assert header == {"typ": "dpop+jwt", "alg": "EdDSA", "jwk": key.public_jwk}
    assert set(claims) == {"jti", "htm", "htu", "iat"}
    assert claims["htm"] == "POST"
    assert claims["htu"] == "https://tessera.test/v1/activations"
    assert claims["iat"] == kit.NOW
    assert len(base64.urlsafe_b64decode(claims["jti"] + "==")) >= 16  # at least 128 random bits


def test_every_proof_has_a_fresh_jti(kit):
    key = DeviceKey.generate()
    jtis = {
        _verify(make_proof(key, "GET", "https://tessera.test/v1/keys", now=kit.NOW))[1]["jti"]
        for _ in range(50)
    }
    assert len(jtis) == 50


def test_proof_made_by_one_key_does_not_verify_under_another(kit):
    proof = make_proof(DeviceKey.generate(), "GET", "https://tessera.test/v1/keys", now=kit.NOW)
    other = DeviceKey.generate().private_key.public_key()

    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(proof, other, algorithms=["EdDSA"], options={"verify_iat": False})


@pytest.mark.parametrize(
    ("url", "htu"),
    [
        (
            "https://tessera.test/v1/activations/act_1/refresh?x=1",
            "https://tessera.test/v1/activations/act_1/refresh",
        ),
        ("HTTPS://Tessera.Test:443/v1/keys#top", "https://tessera.test/v1/keys"),
        ("http://127.0.0.1:5000/v1/keys", "http://127.0.0.1:5000/v1/keys"),
        ("http://localhost:80/v1/keys", "http://localhost/v1/keys"),
        ("https://user:pw@tessera.test/v1/keys", "https://tessera.test/v1/keys"),
        ("https://[::1]:8443/v1/keys", "https://[::1]:8443/v1/keys"),
    ],
)
def test_htu_drops_query_fragment_credentials_and_default_port(url, htu):
    assert proof_target_uri(url) == htu
