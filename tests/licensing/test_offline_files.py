"""The service's half of the offline file format, held to the device's half.

Requests come from tessera_client's writer and the kept vectors; licence files
go to tessera_client's reader. Neither side imports the other at run time.
"""

from __future__ import annotations

import base64
import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import offline_vectors as vectors
from licensing.activation.offline_files import (OfflineRequestInvalid, build_license_file,
                                                parse_activation_request)
from support import b64
from tessera_client import DeviceKey, build_activation_request, parse_license_file
from tessera_client.offline import armor

NOW = vectors.NOW
FINGERPRINT = "f" * 64
MONTH = 30 * 86400
REQUEST_LABEL = "TESSERA ACTIVATION REQUEST"


def parse(text: str, now: float = NOW + 60, max_age: float = MONTH):
    return parse_activation_request(text, now=now, max_age=max_age)


def _b64json(value: dict) -> str:
    return b64(json.dumps(value).encode())


def _parts(text: str) -> list[str]:
    return base64.b64decode("".join(text.splitlines()[1:-1])).decode().split(".")


def _rewrap(parts: list[str]) -> str:
    return armor(REQUEST_LABEL, ".".join(parts).encode())


def _signed(header: dict, claims: dict, key: Ed25519PrivateKey) -> str:
    """A request signed by KEY with exactly this header (PyJWT would add its own)."""
    signing_input = _b64json(header) + "." + _b64json(claims)
    return armor(REQUEST_LABEL, (signing_input + "." + b64(key.sign(signing_input.encode())))
                 .encode())


@pytest.fixture
def request_text() -> str:
    return build_activation_request(Ed25519PrivateKey.generate(), product="numflo",
                                    fingerprint=FINGERPRINT, issued_at=NOW, device_name="rig",
                                    platform="linux-x86_64")


def test_the_kept_request_file_reads_as_written():
    request = parse(vectors.request_file())

    assert (request.product, request.fingerprint, request.device_name, request.platform) == (
        "numflo", vectors.REQUEST["fingerprint"], "test-rig", "linux-x86_64")
    assert (request.issued_at, request.token_id) == (NOW, vectors.REQUEST["token_id"])
    assert request.public_jwk == {"kty": "OKP", "crv": "Ed25519", "x": vectors.DEVICE_X}
    assert request.thumbprint == vectors.DEVICE_THUMBPRINT


def test_the_kept_licence_file_is_written_byte_for_byte():
    assert build_license_file(vectors.LEASE, vectors.JWKS, vectors.LICENSE) == \
        vectors.license_file()


def test_a_request_the_device_writes_reads_back(request_text):
    request = parse(request_text)

    assert (request.product, request.fingerprint, request.platform) == (
        "numflo", FINGERPRINT, "linux-x86_64")
    assert request.device_name == "rig" and request.issued_at == NOW


def test_a_licence_file_the_service_writes_reads_back_on_the_device():
    lease = jwt.encode({"sub": "act_1"}, Ed25519PrivateKey.generate(), algorithm="EdDSA")
    text = build_license_file(lease, vectors.JWKS)

    parsed = parse_license_file(text)

    assert (parsed.lease, parsed.jwks, parsed.license) == (lease, vectors.JWKS, None)
    assert all(len(line) <= 64 for line in text.splitlines())


def test_a_request_pasted_into_a_mail_still_reads(request_text):
    mailed = "Hello,\r\n\r\n  " + request_text.replace("\n", " \r\n") + "\r\n-- \r\nSupport"

    assert parse(mailed).fingerprint == FINGERPRINT


@pytest.mark.parametrize("text", [
    "",
    "no armour at all",
    f"-----BEGIN {REQUEST_LABEL}-----\n-----END {REQUEST_LABEL}-----\n",
    f"-----BEGIN {REQUEST_LABEL}-----\n!!!notbase64!!!\n-----END {REQUEST_LABEL}-----\n",
    f"-----BEGIN {REQUEST_LABEL}-----\nAAAA\n-----END {REQUEST_LABEL}-----\n",
    f"-----BEGIN {REQUEST_LABEL}-----\n/w==\n-----END {REQUEST_LABEL}-----\n",
])
def test_broken_armour_is_refused(text):
    with pytest.raises(OfflineRequestInvalid):
        parse(text)


def test_two_requests_in_one_text_are_refused(request_text):
    with pytest.raises(OfflineRequestInvalid):
        parse(request_text + request_text)


def test_request_with_changed_claims_is_refused(request_text):
    parts = _parts(request_text)
    claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=="))
    claims["fingerprint"] = "another-machine-fingerprint"
    parts[1] = _b64json(claims)

    with pytest.raises(OfflineRequestInvalid, match="signature"):
        parse(_rewrap(parts))


def test_request_with_a_swapped_key_is_refused(request_text):
    parts = _parts(request_text)
    header = jwt.get_unverified_header(".".join(parts))
    header["jwk"] = DeviceKey.generate().public_jwk
    parts[0] = _b64json(header)

    with pytest.raises(OfflineRequestInvalid, match="signature"):
        parse(_rewrap(parts))


@pytest.mark.parametrize("header_change", [
    {"typ": "JWT"},
    {"alg": "EdDSA "},
    {"alg": "HS256"},
    {"kid": "k"},
    {"jku": "https://x.test"},
    {"jwk": {"kty": "OKP", "crv": "Ed25519", "x": vectors.DEVICE_X, "d": "leak"}},
    {"jwk": {"kty": "OKP", "crv": "Ed25519", "x": vectors.DEVICE_X + "="}},
    {"jwk": {"kty": "OKP", "crv": "Ed448", "x": vectors.DEVICE_X}},
    {"jwk": {"kty": "OKP", "crv": "Ed25519", "x": b64(b"\x01" * 31)}},
    {"jwk": "not an object"},
])
def test_request_headers_other_than_the_format_are_refused(header_change):
    header = {"alg": "EdDSA", "typ": "tessera-offline-request+jwt",
              "jwk": {"kty": "OKP", "crv": "Ed25519", "x": vectors.DEVICE_X}, **header_change}
    claims = {"product": "numflo", "fingerprint": FINGERPRINT, "iat": NOW, "jti": "j" * 22}

    with pytest.raises(OfflineRequestInvalid):
        parse(_signed(header, claims, vectors.DEVICE_KEY))


def test_a_hand_signed_request_in_the_format_is_accepted():
    """The header and claims above, unchanged, pass: the refusals come from the changes."""
    header = {"alg": "EdDSA", "typ": "tessera-offline-request+jwt",
              "jwk": {"kty": "OKP", "crv": "Ed25519", "x": vectors.DEVICE_X}}
    claims = {"product": "numflo", "fingerprint": FINGERPRINT, "iat": NOW, "jti": "j" * 22}

    assert parse(_signed(header, claims, vectors.DEVICE_KEY)).thumbprint == \
        vectors.DEVICE_THUMBPRINT


@pytest.mark.parametrize("claims_change", [
    {"product": ""},
    {"product": None},
    {"product": 7},
    {"fingerprint": "short"},
    {"device_name": "n" * 65},
    {"platform": "p" * 33},
    {"iat": "now"},
    {"iat": 1.5},
    {"jti": "short"},
    {"extra": 1},
])
def test_request_claims_outside_the_activation_body_are_refused(claims_change):
    key = Ed25519PrivateKey.generate()
    header = {"typ": "tessera-offline-request+jwt", "jwk": DeviceKey(key).public_jwk}
    claims = {"product": "numflo", "fingerprint": FINGERPRINT, "iat": NOW, "jti": "j" * 22,
              **claims_change}
    token = jwt.encode(claims, key, algorithm="EdDSA", headers=header)

    with pytest.raises(OfflineRequestInvalid, match="claims"):
        parse(armor(REQUEST_LABEL, token.encode()))


def test_request_age_is_bounded(request_text):
    with pytest.raises(OfflineRequestInvalid, match="future"):
        parse(request_text, now=NOW - 3600)
    with pytest.raises(OfflineRequestInvalid, match="old"):
        parse(request_text, now=NOW + 31 * 86400)
    assert parse(request_text, now=NOW + 29 * 86400).issued_at == NOW
    assert parse(request_text, now=NOW - 299).issued_at == NOW  # clock skew within the leeway
