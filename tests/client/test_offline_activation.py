"""Air-gapped activation: request and licence file formats, and an import with no network at all."""

from __future__ import annotations

import base64
import json
import socket
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tessera_client import (
    DeviceKey,
    LeaseExpired,
    LeaseNotForThisDevice,
    LicenseFileInvalid,
    OfflineRequestInvalid,
    UnknownSigningKey,
    build_activation_request,
    build_license_file,
    derive_fingerprint,
    parse_activation_request,
    parse_license_file,
)
from tessera_client.cli import main
from tessera_client.offline import armor, unarmor

FINGERPRINT = "f" * 64


@pytest.fixture
def no_network(monkeypatch):
    """Make any attempt to open a socket or resolve a name fail the test loudly."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access attempted during an offline operation")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


def _service_answers(request_text: str, signer, kit, now: float | None = None) -> str:
    """What the service does with a request: verify it, mint a lease bound to its key, wrap it."""
    now = kit.NOW if now is None else int(now)
    request = parse_activation_request(request_text, now=now, max_age=30 * 86400)
    claims = {"aud": request.product, "exp": now + 90 * 86400, "lxp": None}
    lease = signer.lease(request.thumbprint, now, **claims)
    return build_license_file(lease, signer.jwks, license={"id": "lic_456", "kind": "perpetual"})


def test_offline_request_carries_the_device_key_and_fingerprint(make_client, kit):
    client = make_client(server_url=None)
    text = client.offline_request(device_name="test-rig")

    request = parse_activation_request(text, now=kit.NOW)

    assert text.startswith("-----BEGIN TESSERA ACTIVATION REQUEST-----\n")
    assert text.rstrip().endswith("-----END TESSERA ACTIVATION REQUEST-----")
    assert request.product == kit.PRODUCT and request.device_name == "test-rig"
    assert request.fingerprint == derive_fingerprint(kit.MACHINE_ID, kit.PRODUCT)
    assert request.thumbprint == client.device_key.thumbprint
    assert request.public_jwk == client.device_key.public_jwk
    assert request.issued_at == kit.NOW and len(request.token_id) >= 16
    assert kit.MACHINE_ID not in base64.b64decode("".join(text.splitlines()[1:-1])).decode()


def test_offline_import_verifies_and_installs_with_no_network(make_client, signer, kit, no_network):
    device = make_client(server_url=None, jwks=signer.jwks)  # keys shipped with the product
    license_file = _service_answers(device.offline_request(), signer, kit)

    installed = device.offline_import(license_file)
    later = make_client(server_url=None).status()  # a later start of the product

    assert installed.valid and installed.offline and installed.kind == "perpetual"
    assert later.valid and later.license_id == "lic_456" and later.license_expires_at is None
    assert later.lease_expires_at == kit.NOW + 90 * 86400
    assert no_network == []


def test_cli_offline_import_and_status_work_with_no_network(
    signer, kit, tmp_path, capsys, no_network
):
    jwks_file = tmp_path / "vendor-keys.json"
    jwks_file.write_text(json.dumps(signer.jwks))
    state_dir = tmp_path / "state"
    request_file = tmp_path / "request.txt"
    assert (
        main(
            [
                "offline-request",
                "--product",
                kit.PRODUCT,
                "--state-dir",
                str(state_dir),
                "--fingerprint",
                FINGERPRINT,
                "--output",
                str(request_file),
                "--json",
            ]
        )
        == 0
    )
    capsys.readouterr()
    license_path = tmp_path / "license.txt"
    # The command line runs on the real clock, so this licence is minted for it.
    license_path.write_text(
        _service_answers(request_file.read_text(), signer, kit, now=time.time())
    )

    imported = main(
        [
            "offline-import",
            str(license_path),
            "--state-dir",
            str(state_dir),
            "--jwks",
            str(jwks_file),
            "--json",
        ]
    )
    imported_out = capsys.readouterr().out
    status = main(["status", "--state-dir", str(state_dir), "--json"])
    status_out = capsys.readouterr().out

    assert (imported, status) == (0, 0)
    for out in (imported_out, status_out):
        assert out.count("\n") == 1
        payload = json.loads(out)
        assert payload["ok"] and payload["valid"] and payload["offline"]
    assert json.loads(status_out)["entitlements"] == ["solver", "mesher"]
    assert no_network == []


def test_keys_inside_the_licence_file_are_not_trusted(make_client, signer, kit, no_network):
    device = make_client(server_url=None, jwks=signer.jwks)
    request = parse_activation_request(device.offline_request(), now=kit.NOW)
    forger = kit.Signer(kid="forger")  # anyone can write a licence file with their own key in it
    forged = build_license_file(forger.lease(request.thumbprint), forger.jwks)

    with pytest.raises(UnknownSigningKey):
        device.offline_import(forged)
    assert not device.status().valid


def test_import_without_any_trusted_key_is_refused(make_client, signer, kit):
    device = make_client(server_url=None)  # no shipped keys, never online

    with pytest.raises(UnknownSigningKey):
        device.offline_import(_service_answers(device.offline_request(), signer, kit))


def test_a_licence_file_for_another_device_is_refused(make_client, signer, kit, tmp_path):
    other = make_client(server_url=None, state_dir=tmp_path / "other")
    license_file = _service_answers(other.offline_request(), signer, kit)
    device = make_client(server_url=None, jwks=signer.jwks)
    device.offline_request()

    with pytest.raises(LeaseNotForThisDevice):
        device.offline_import(license_file)


def test_an_expired_licence_file_is_refused(make_client, signer, kit, clock):
    device = make_client(server_url=None, jwks=signer.jwks)
    license_file = _service_answers(device.offline_request(), signer, kit)
    clock.now = kit.NOW + 91 * 86400

    with pytest.raises(LeaseExpired):
        device.offline_import(license_file)


def test_licence_file_round_trip_survives_mail_clients(signer, kit):
    lease = signer.lease(DeviceKey.generate().thumbprint)
    text = build_license_file(lease, signer.jwks, license={"kind": "subscription"})
    mailed = (
        "Hello,\r\nplease find your licence below.\r\n\r\n"
        + text.replace("\n", "\r\n")
        + "\r\n-- \r\nSupport"
    )

    parsed = parse_license_file(mailed)

    assert (
        parsed.lease == lease
        and parsed.jwks == signer.jwks
        and parsed.license == {"kind": "subscription"}
    )
    assert all(len(line) <= 64 for line in text.splitlines())


@pytest.mark.parametrize(
    "body",
    [
        {"format": "other", "version": 1, "lease": "a.b.c", "jwks": {"keys": []}},
        {"format": "tessera-license", "version": 2, "lease": "a.b.c"},
        {"format": "tessera-license", "version": 1, "lease": "not-a-jws"},
        {"format": "tessera-license", "version": 1, "lease": "a.b.c", "jwks": {"keys": []}},
        {"format": "tessera-license", "version": 1, "lease": "a.b.c", "jwks": "keys"},
        ["not", "an", "object"],
    ],
)
def test_malformed_licence_files_are_refused(signer, body):
    if isinstance(body, dict) and body.get("jwks") is None and body.get("version") == 1:
        body["jwks"] = signer.jwks
    with pytest.raises(LicenseFileInvalid):
        parse_license_file(armor("TESSERA LICENSE", json.dumps(body).encode()))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "no armour at all",
        "-----BEGIN TESSERA LICENSE-----\n-----END TESSERA LICENSE-----\n",
        "-----BEGIN TESSERA LICENSE-----\n!!!notbase64!!!\n-----END TESSERA LICENSE-----\n",
        "-----BEGIN TESSERA LICENSE-----\nAAAA\n-----END TESSERA LICENSE-----\n" * 2,
        "x" * 70000,
    ],
)
def test_broken_armour_is_refused(text):
    with pytest.raises(LicenseFileInvalid):
        parse_license_file(text)


def _request_parts(text: str) -> list[str]:
    return unarmor("TESSERA ACTIVATION REQUEST", text).decode().split(".")


def _rewrap(parts: list[str]) -> str:
    return armor("TESSERA ACTIVATION REQUEST", ".".join(parts).encode())


def _b64json(value: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


@pytest.fixture
def request_text(kit) -> str:
    return build_activation_request(
        Ed25519PrivateKey.generate(),
        product=kit.PRODUCT,
        fingerprint=FINGERPRINT,
        issued_at=kit.NOW,
        device_name="rig",
        platform="linux-x86_64",
    )


def test_request_round_trip(request_text, kit):
    request = parse_activation_request(request_text, now=kit.NOW + 60, max_age=86400)
    assert (request.product, request.fingerprint, request.platform) == (
        kit.PRODUCT,
        FINGERPRINT,
        "linux-x86_64",
    )


def test_request_with_changed_claims_is_refused(request_text):
    parts = _request_parts(request_text)
    claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=="))
    claims["fingerprint"] = "another-machine-fingerprint"
    parts[1] = _b64json(claims)

    with pytest.raises(OfflineRequestInvalid):
        parse_activation_request(_rewrap(parts))


def test_request_with_a_swapped_key_is_refused(request_text):
    parts = _request_parts(request_text)
    header = jwt.get_unverified_header(".".join(parts))
    header["jwk"] = DeviceKey.generate().public_jwk
    parts[0] = _b64json(header)

    with pytest.raises(OfflineRequestInvalid):
        parse_activation_request(_rewrap(parts))


@pytest.mark.parametrize(
    "header_change",
    [
        {"typ": "JWT"},
        {"alg": "EdDSA ", "typ": "tessera-offline-request+jwt"},
        {"kid": "k"},
        {"jku": "https://x.test"},
        {
            "jwk": {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
                "d": "leak",
            }
        },
    ],
)
def test_request_headers_other_than_the_format_are_refused(kit, header_change):
    key = Ed25519PrivateKey.generate()
    header = {
        "typ": "tessera-offline-request+jwt",
        "jwk": DeviceKey(key).public_jwk,
        **header_change,
    }
    claims = {"product": kit.PRODUCT, "fingerprint": FINGERPRINT, "iat": kit.NOW, "jti": "j" * 22}
    signing_input = _b64json({"alg": "EdDSA", **header}) + "." + _b64json(claims)
    signature = base64.urlsafe_b64encode(key.sign(signing_input.encode())).rstrip(b"=").decode()
    token = signing_input + "." + signature

    with pytest.raises(OfflineRequestInvalid):
        parse_activation_request(armor("TESSERA ACTIVATION REQUEST", token.encode()))


def test_request_with_hmac_algorithm_is_refused(request_text):
    parts = _request_parts(request_text)
    header = jwt.get_unverified_header(".".join(parts))
    parts[0] = _b64json({**header, "alg": "HS256"})

    with pytest.raises(OfflineRequestInvalid):
        parse_activation_request(_rewrap(parts))


@pytest.mark.parametrize(
    "claims_change",
    [
        {"product": ""},
        {"fingerprint": "short"},
        {"device_name": "n" * 65},
        {"platform": "p" * 33},
        {"iat": "now"},
        {"jti": "short"},
        {"extra": 1},
        {"product": None},
    ],
)
def test_request_claims_outside_the_contract_are_refused(kit, claims_change):
    key = Ed25519PrivateKey.generate()
    header = {"typ": "tessera-offline-request+jwt", "jwk": DeviceKey(key).public_jwk}
    claims = {
        "product": kit.PRODUCT,
        "fingerprint": FINGERPRINT,
        "iat": kit.NOW,
        "jti": "j" * 22,
        **claims_change,
    }
    token = jwt.encode(claims, key, algorithm="EdDSA", headers=header)

    with pytest.raises(OfflineRequestInvalid):
        parse_activation_request(armor("TESSERA ACTIVATION REQUEST", token.encode()))


def test_request_age_is_bounded_when_the_caller_asks(request_text, kit):
    with pytest.raises(OfflineRequestInvalid):
        parse_activation_request(request_text, now=kit.NOW - 3600)  # dated in the future
    with pytest.raises(OfflineRequestInvalid):
        parse_activation_request(request_text, now=kit.NOW + 31 * 86400, max_age=30 * 86400)
    assert parse_activation_request(request_text, now=kit.NOW + 29 * 86400, max_age=30 * 86400)


def test_building_a_request_outside_the_contract_fails_early(kit):
    with pytest.raises(ValueError):
        build_activation_request(
            Ed25519PrivateKey.generate(),
            product=kit.PRODUCT,
            fingerprint="short",
            issued_at=kit.NOW,
        )
