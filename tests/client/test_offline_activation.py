"""Air-gapped activation on the device: writing requests, reading licence files, and an
import with no network at all. The service's half of the format answers the requests."""

from __future__ import annotations

import base64
import json
import socket
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import offline_vectors as vectors
from licensing.activation.offline_files import build_license_file, parse_activation_request
from tessera_client import (
    DeviceKey,
    LeaseExpired,
    LeaseNotForThisDevice,
    LicenseClient,
    LicenseFileInvalid,
    MemoryKeyStore,
    UnknownSigningKey,
    build_activation_request,
    derive_fingerprint,
    parse_license_file,
)
from tessera_client.cli import main
from tessera_client.offline import armor

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

    request = parse_activation_request(text, now=kit.NOW, max_age=86400)

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
    request = parse_activation_request(device.offline_request(), now=kit.NOW, max_age=86400)
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


def test_building_a_request_outside_the_contract_fails_early(kit):
    with pytest.raises(ValueError):
        build_activation_request(
            Ed25519PrivateKey.generate(),
            product=kit.PRODUCT,
            fingerprint="short",
            issued_at=kit.NOW,
        )


def test_the_device_writes_the_kept_request_file_byte_for_byte():
    assert build_activation_request(vectors.DEVICE_KEY, **vectors.REQUEST) == \
        vectors.request_file()


def test_the_kept_licence_file_reads_and_installs_on_its_device(tmp_path, no_network):
    parsed = parse_license_file(vectors.license_file())
    device = LicenseClient(
        "numflo",
        tmp_path / "state",
        key_store=MemoryKeyStore(DeviceKey(vectors.DEVICE_KEY).to_pem()),
        fingerprint=vectors.REQUEST["fingerprint"],
        jwks=vectors.JWKS,
        clock=lambda: vectors.NOW + 60,
    )

    status = device.offline_import(vectors.license_file())

    assert (parsed.lease, parsed.jwks, parsed.license) == (
        vectors.LEASE,
        vectors.JWKS,
        vectors.LICENSE,
    )
    assert status.valid and status.offline and status.activation_id == "act_vector"
    assert status.lease_expires_at == vectors.NOW + 90 * 86400
    assert no_network == []
