"""Offline activation: request file -> API -> license file -> air-gapped import."""

from __future__ import annotations

import socket

import pytest
from support import unverified_claims
from tessera_client import LicenseClient, parse_license_file

FINGERPRINT = "cluster-node-0042-abcdef"


def device(tmp_path, client) -> LicenseClient:
    jwks = client.get("/v1/keys").json
    return LicenseClient("numflo", tmp_path / "state", fingerprint=FINGERPRINT, jwks=jwks)


def submit(client, request_text, **auth):
    return client.post("/v1/offline/activations", json={"request": request_text, **auth})


@pytest.fixture
def cut_network(monkeypatch):
    """Call to make every new socket fail, as on an air-gapped machine."""
    def refuse(*args, **kwargs):
        raise OSError("network access in an air-gapped test")

    def cut():
        monkeypatch.setattr(socket, "socket", refuse)
        monkeypatch.setattr(socket, "create_connection", refuse)
    return cut


def test_request_to_license_file_to_air_gapped_import(tmp_path, client, world, cut_network):
    license_id = world.setup(seats=2, offline_lease_seconds=30 * 86400)
    installation = device(tmp_path, client)
    answer = submit(client, installation.offline_request(device_name="node42"),
                    **world.credentials())
    assert answer.status_code == 201, answer.json
    cut_network()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", 9))
    status = installation.offline_import(answer.json["license_file"])
    assert status.valid and status.offline
    assert status.activation_id == answer.json["activation_id"]
    assert status.license_id == license_id
    assert set(status.entitlements) == {"solver", "mesher"}
    assert status.lease_expires_at > status.refresh_after
    assert installation.status().valid


def test_offline_lease_uses_offline_duration_and_counts_a_seat(tmp_path, client, world):
    world.setup(seats=1, offline_lease_seconds=45 * 86400)
    installation = device(tmp_path, client)
    answer = submit(client, installation.offline_request(), **world.credentials())
    lease = parse_license_file(answer.json["license_file"]).lease
    claims = unverified_claims(lease)
    assert claims["exp"] - claims["iat"] == 45 * 86400
    from support import Device
    full = Device().activate(client, **world.credentials())
    assert full.status_code == 409 and full.json["code"] == "SEAT_LIMIT_REACHED"
    resubmitted = submit(client, installation.offline_request(), **world.credentials())
    assert resubmitted.status_code == 200
    assert resubmitted.json["activation_id"] == answer.json["activation_id"]


def test_activation_code_and_admin_token_paths(tmp_path, client, world, runner):
    license_id = world.setup(seats=3)
    code = world.code(license_id)
    first = submit(client, device(tmp_path / "a", client).offline_request(),
                   activation_code=code)
    assert first.status_code == 201
    other = LicenseClient("numflo", tmp_path / "b", fingerprint="another-node-000001",
                          jwks=client.get("/v1/keys").json)
    import json
    token = json.loads(runner.invoke(args=["admin", "create-staff", "Ops", "--role", "admin",
                                           "--json"]).stdout)["token"]
    support_token = json.loads(runner.invoke(args=["admin", "create-staff", "Sue", "--role",
                                                   "support", "--json"]).stdout)["token"]
    body = {"request": other.offline_request(), "license": license_id}
    assert client.post("/v1/offline/activations", json=body).status_code == 401
    forbidden = client.post("/v1/offline/activations", json=body,
                            headers={"Authorization": f"Bearer {support_token}"})
    assert forbidden.status_code == 403 and forbidden.json["code"] == "FORBIDDEN"
    by_admin = client.post("/v1/offline/activations", json=body,
                           headers={"Authorization": f"Bearer {token}"})
    assert by_admin.status_code == 201, by_admin.json


def test_tampered_or_foreign_requests_are_refused(tmp_path, client, world):
    world.setup()
    text = device(tmp_path, client).offline_request()
    lines = text.strip().splitlines()
    middle = lines[1]
    flipped = middle[:10] + ("A" if middle[10] != "A" else "B") + middle[11:]
    tampered = "\n".join([lines[0], flipped, *lines[2:]])
    refused = submit(client, tampered, **world.credentials())
    assert refused.status_code == 401 and refused.json["code"] == "INVALID_PROOF"
    wrong_password = submit(client, text, username="alice", password="wrong")
    assert wrong_password.status_code == 401
    assert wrong_password.json["code"] == "INVALID_CREDENTIALS"
    both = submit(client, text, activation_code="x", **world.credentials())
    assert both.status_code == 400 and both.json["code"] == "VALIDATION_FAILED"
