"""Offline lease verification: every way a lease can be wrong is refused, with its reason."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tessera_client import (
    ClockTampered,
    DeviceKey,
    LeaseAlgorithmRefused,
    LeaseExpired,
    LeaseHeaderRefused,
    LeaseInvalid,
    LeaseMalformed,
    LeaseNotForThisDevice,
    LeaseNotForThisProduct,
    LeaseNotYetValid,
    LeaseSignatureInvalid,
    LeaseTypeRefused,
    LeaseVerifier,
    LeaseWrongIssuer,
    RetryPolicy,
    TesseraApi,
    UnknownSigningKey,
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def forge(header: dict, claims: dict, sign) -> str:
    """Assemble a compact JWS by hand, signing with any function."""
    signing_input = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    return signing_input + "." + _b64(sign(signing_input.encode()))


def flip(token: str, segment: int, bit: int) -> str:
    """Flip one bit of one decoded segment and re-encode it canonically."""
    parts = token.split(".")
    raw = bytearray(_unb64(parts[segment]))
    raw[bit // 8] ^= 1 << (bit % 8)
    parts[segment] = _b64(bytes(raw))
    return ".".join(parts)


@pytest.fixture
def device() -> DeviceKey:
    return DeviceKey.generate()


@pytest.fixture
def verifier(signer, device, kit) -> LeaseVerifier:
    return LeaseVerifier(
        product=kit.PRODUCT,
        device_thumbprint=device.thumbprint,
        jwks=signer.jwks,
        issuer=kit.ISSUER,
    )


def test_valid_lease_is_accepted_with_its_claims(signer, device, verifier, kit):
    token = signer.lease(device.thumbprint)

    lease = verifier.verify(token, now=kit.NOW + 60)

    assert lease.activation_id == "act_123"
    assert lease.license_id == "lic_456"
    assert lease.entitlements == ("solver", "mesher")
    assert lease.thumbprint == kit.thumbprint_of(device.public_jwk["x"])
    assert lease.expires_at == kit.NOW + kit.LEASE_SECONDS
    assert lease.key_id == signer.kid and lease.issuer == kit.ISSUER
    assert not lease.refresh_due(kit.NOW + 60)
    assert lease.refresh_due(kit.NOW + kit.LEASE_SECONDS // 2)


@pytest.mark.parametrize("segment", [0, 1, 2], ids=["header", "payload", "signature"])
def test_every_single_bit_flip_is_refused(signer, device, verifier, kit, segment):
    token = signer.lease(device.thumbprint)
    bits = len(_unb64(token.split(".")[segment])) * 8
    refused = []
    for bit in range(bits):
        with pytest.raises(LeaseInvalid) as caught:
            verifier.verify(flip(token, segment, bit), now=kit.NOW + 60)
        refused.append(type(caught.value))
    assert len(refused) == bits
    if segment in (1, 2):
        # The header still names a good key, so the signature is what catches it.
        assert set(refused) == {LeaseSignatureInvalid}


def test_header_changed_but_still_acceptable_breaks_the_signature(signer, device, verifier, kit):
    _, payload, signature = signer.lease(device.thumbprint).split(".")
    reordered = json.dumps(
        {"typ": "lease+jwt", "kid": signer.kid, "alg": "EdDSA"}, indent=1
    ).encode()

    with pytest.raises(LeaseSignatureInvalid):
        verifier.verify(".".join([_b64(reordered), payload, signature]), now=kit.NOW)


def test_payload_with_a_later_expiry_breaks_the_signature(signer, device, verifier, kit):
    header, payload, signature = signer.lease(device.thumbprint).split(".")
    claims = json.loads(_unb64(payload))
    claims["exp"] += 365 * 86400

    with pytest.raises(LeaseSignatureInvalid):
        verifier.verify(
            ".".join([header, _b64(json.dumps(claims).encode()), signature]), now=kit.NOW
        )


@pytest.mark.parametrize("alg", ["none", "None", "NONE", ""])
def test_alg_none_is_refused(signer, device, verifier, kit, alg):
    token = forge(
        {"alg": alg, "typ": "lease+jwt", "kid": signer.kid},
        signer.claims(device.thumbprint),
        lambda _: b"",
    )

    with pytest.raises(LeaseAlgorithmRefused):
        verifier.verify(token, now=kit.NOW)


@pytest.mark.parametrize("key_form", ["raw", "pem"])
def test_hs256_keyed_with_the_public_key_is_refused_before_any_key_is_used(
    signer, device, kit, key_form
):
    public = signer.key.public_key()
    secret = (
        public.public_bytes(Encoding.Raw, PublicFormat.Raw)
        if key_form == "raw"
        else public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    token = forge(
        {"alg": "HS256", "typ": "lease+jwt", "kid": signer.kid},
        signer.claims(device.thumbprint),
        lambda data: hmac.new(secret, data, hashlib.sha256).digest(),
    )

    def must_not_fetch():
        raise AssertionError("an algorithm-confused token must not reach key lookup")

    # No pinned keys and a fetch that fails the test: only the alg check may answer.
    verifier = LeaseVerifier(
        product=kit.PRODUCT,
        device_thumbprint=device.thumbprint,
        jwks=None,
        fetch_jwks=must_not_fetch,
    )
    with pytest.raises(LeaseAlgorithmRefused):
        verifier.verify(token, now=kit.NOW)


@pytest.mark.parametrize("typ", ["JWT", "dpop+jwt", None])
def test_wrong_token_type_is_refused(signer, device, verifier, kit, typ):
    header = {"alg": "EdDSA", "kid": signer.kid}
    if typ:
        header["typ"] = typ
    token = forge(header, signer.claims(device.thumbprint), signer.key.sign)

    with pytest.raises(LeaseTypeRefused):
        verifier.verify(token, now=kit.NOW)


@pytest.mark.parametrize("header_name", ["jwk", "jku", "x5u", "x5c"])
def test_a_key_offered_by_the_token_itself_is_never_trusted(
    signer, device, verifier, kit, header_name
):
    attacker = Ed25519PrivateKey.generate()
    attacker_x = _b64(attacker.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    offered = {
        "jwk": {"kty": "OKP", "crv": "Ed25519", "x": attacker_x, "kid": signer.kid},
        "jku": "https://attacker.test/keys",
        "x5u": "https://attacker.test/cert",
        "x5c": ["MIIB"],
    }[header_name]
    header = {"alg": "EdDSA", "typ": "lease+jwt", "kid": signer.kid, header_name: offered}
    token = forge(header, signer.claims(device.thumbprint), attacker.sign)

    with pytest.raises(LeaseHeaderRefused):
        verifier.verify(token, now=kit.NOW)


def test_lease_signed_by_another_key_under_a_trusted_kid_is_refused(signer, device, verifier, kit):
    impostor = kit.Signer(kid=signer.kid)

    with pytest.raises(LeaseSignatureInvalid):
        verifier.verify(impostor.lease(device.thumbprint), now=kit.NOW)


def _api(device: DeviceKey, clock, attempts: int = 4) -> TesseraApi:
    return TesseraApi(
        "https://tessera.test",
        device,
        clock=clock,
        sleep=lambda _: None,
        retry=RetryPolicy(attempts=attempts),
    )


def test_unknown_kid_fetches_the_jwks_once_then_refuses(tessera, signer, device, clock, kit):
    stranger = kit.Signer(kid="not-published")
    api = _api(device, clock)
    verifier = LeaseVerifier(
        product=kit.PRODUCT,
        device_thumbprint=device.thumbprint,
        jwks=signer.jwks,
        fetch_jwks=api.fetch_jwks,
    )
    try:
        with pytest.raises(UnknownSigningKey):
            verifier.verify(stranger.lease(device.thumbprint), now=kit.NOW)
    finally:
        api.close()
    assert tessera.keys_calls == 1
    assert verifier.jwks == signer.jwks


def test_unknown_kid_is_accepted_after_the_service_publishes_it(
    tessera, signer, device, clock, kit
):
    rotated = kit.Signer(kid="lease-2027-02")
    tessera.jwks = {"keys": [signer.public_jwk, rotated.public_jwk]}
    api = _api(device, clock)
    verifier = LeaseVerifier(
        product=kit.PRODUCT,
        device_thumbprint=device.thumbprint,
        jwks=signer.jwks,
        fetch_jwks=api.fetch_jwks,
    )
    try:
        lease = verifier.verify(rotated.lease(device.thumbprint), now=kit.NOW)
    finally:
        api.close()
    assert lease.key_id == "lease-2027-02"
    assert tessera.keys_calls == 1
    assert verifier.jwks_changed and verifier.jwks == tessera.jwks


def test_unknown_kid_while_offline_is_refused_without_trusting_anything(
    http, signer, device, clock, kit
):
    http.add(http.GET, "https://tessera.test/v1/keys", body=requests.ConnectionError("offline"))
    api = _api(device, clock, attempts=1)
    verifier = LeaseVerifier(
        product=kit.PRODUCT,
        device_thumbprint=device.thumbprint,
        jwks=signer.jwks,
        fetch_jwks=api.fetch_jwks,
    )
    try:
        with pytest.raises(UnknownSigningKey):
            verifier.verify(kit.Signer(kid="other").lease(device.thumbprint), now=kit.NOW)
    finally:
        api.close()
    assert len(http.calls) == 1
    assert verifier.jwks == signer.jwks and not verifier.jwks_changed


def test_lease_for_another_device_is_refused(signer, verifier, kit):
    other_device = DeviceKey.generate()

    with pytest.raises(LeaseNotForThisDevice):
        verifier.verify(signer.lease(other_device.thumbprint), now=kit.NOW)


def test_lease_for_another_product_is_refused(signer, device, verifier, kit):
    with pytest.raises(LeaseNotForThisProduct):
        verifier.verify(signer.lease(device.thumbprint, aud="otherproduct"), now=kit.NOW)


def test_audience_list_naming_the_product_is_accepted(signer, device, verifier, kit):
    lease = verifier.verify(
        signer.lease(device.thumbprint, aud=["suite", kit.PRODUCT]), now=kit.NOW
    )
    assert kit.PRODUCT in lease.audience


def test_issuer_is_checked_only_when_configured(signer, device, verifier, kit):
    token = signer.lease(device.thumbprint, iss="someone-else")
    with pytest.raises(LeaseWrongIssuer):
        verifier.verify(token, now=kit.NOW)

    relaxed = LeaseVerifier(
        product=kit.PRODUCT, device_thumbprint=device.thumbprint, jwks=signer.jwks
    )
    assert relaxed.verify(token, now=kit.NOW).issuer == "someone-else"


def test_expired_lease_is_refused_from_exp_on(signer, device, verifier, kit):
    token = signer.lease(device.thumbprint)
    exp = kit.NOW + kit.LEASE_SECONDS

    assert verifier.verify(token, now=exp - 1).expires_at == exp
    with pytest.raises(LeaseExpired):
        verifier.verify(token, now=exp)


def test_lease_not_yet_valid_is_refused_beyond_the_leeway(signer, device, verifier, kit):
    token = signer.lease(device.thumbprint, nbf=kit.NOW + 3600)

    with pytest.raises(LeaseNotYetValid):
        verifier.verify(token, now=kit.NOW)
    assert verifier.verify(token, now=kit.NOW + 3600 - 30).not_before == kit.NOW + 3600


def test_clock_set_back_behind_a_time_already_seen_is_clock_tampering(
    signer, device, verifier, kit
):
    token = signer.lease(device.thumbprint)
    last_seen = kit.NOW + 3 * 86400  # the service's Date three days after the lease

    with pytest.raises(ClockTampered):
        verifier.verify(token, now=kit.NOW + 86400, last_seen=last_seen)
    # Within the tolerance (10 minutes by default) ordinary drift is fine.
    assert verifier.verify(token, now=last_seen - 599, last_seen=last_seen)


def test_clock_behind_the_lease_issue_time_is_clock_tampering(signer, device, verifier, kit):
    token = signer.lease(device.thumbprint, nbf=kit.NOW - 86400)

    with pytest.raises(ClockTampered):
        verifier.verify(token, now=kit.NOW - 3600)


def test_clock_tolerance_is_configurable(signer, device, kit):
    strict = LeaseVerifier(
        product=kit.PRODUCT,
        device_thumbprint=device.thumbprint,
        jwks=signer.jwks,
        clock_tolerance=30,
    )
    token = signer.lease(device.thumbprint)

    with pytest.raises(ClockTampered):
        strict.verify(token, now=kit.NOW + 100, last_seen=kit.NOW + 200)


@pytest.mark.parametrize(
    "overrides",
    [
        {"cnf": ...},
        {"cnf": {"jkt": ""}},
        {"exp": ...},
        {"exp": True},
        {"exp": "tomorrow"},
        {"sub": ...},
        {"aud": ...},
        {"aud": []},
        {"ent": "solver"},
        {"iat": ...},
        {"nbf": ...},
        {"lic": 7},
    ],
    ids=lambda overrides: ",".join(f"{k}={v!r}" for k, v in overrides.items()),
)
def test_leases_missing_or_mistyping_claims_are_malformed(signer, device, verifier, kit, overrides):
    with pytest.raises(LeaseMalformed):
        verifier.verify(signer.lease(device.thumbprint, **overrides), now=kit.NOW)


def test_non_finite_times_are_malformed(signer, device, verifier, kit):
    claims = signer.claims(device.thumbprint)
    header = {"alg": "EdDSA", "typ": "lease+jwt", "kid": signer.kid}
    token = forge(header, claims, signer.key.sign).split(".")
    token[1] = _b64(json.dumps(claims).replace(str(claims["exp"]), "Infinity").encode())
    token[2] = _b64(signer.key.sign(f"{token[0]}.{token[1]}".encode()))

    with pytest.raises(LeaseMalformed):
        verifier.verify(".".join(token), now=kit.NOW)


@pytest.mark.parametrize(
    "token", ["", "abc", "a.b", "a.b.c.d", "!!.!!.!!", None, 42, "e30.e30." + "A" * 20000]
)
def test_garbage_is_malformed(verifier, kit, token):
    with pytest.raises(LeaseMalformed):
        verifier.verify(token, now=kit.NOW)
