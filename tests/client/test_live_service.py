"""The client library against a real Tessera under gunicorn on a free port."""

from __future__ import annotations

import time

import pytest
import requests
from live import live_server, server_env
from tessera_client import (
    ActivationReleased,
    InvalidActivationCode,
    InvalidCredentials,
    LicenseClient,
    NotActivated,
    SeatLimitReached,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def service(app, migrated, tmp_path):
    with live_server(server_env(migrated, tmp_path / "instance"), workers=2,
                     log_path=tmp_path / "server.log") as base_url:
        yield base_url


def installation(tmp_path, base_url: str, name: str) -> LicenseClient:
    return LicenseClient("numflo", tmp_path / name, server_url=base_url,
                         fingerprint=f"live-test-device-{name}-0001")


def test_activate_status_refresh_deactivate(tmp_path, world, service):
    license_id = world.setup(seats=2)
    client = installation(tmp_path, service, "a")
    activated = client.activate(**world.credentials(), device_name="workstation")
    status = client.status()
    assert status.valid and status.license_id == license_id
    assert set(status.entitlements) == {"solver", "mesher"}
    assert status.activation_id == activated.activation_id
    before = status.lease_expires_at
    time.sleep(1.1)
    assert client.refresh(force=True) is True
    assert client.status().lease_expires_at > before
    assert client.deactivate() is True
    assert not client.status().valid


def test_seat_limit_and_reuse_through_the_client(tmp_path, world, service):
    world.setup(seats=1)
    first = installation(tmp_path, service, "one")
    first.activate(**world.credentials())
    with pytest.raises(SeatLimitReached):
        installation(tmp_path, service, "two").activate(**world.credentials())
    again = installation(tmp_path, service, "one")  # same fingerprint, same state folder
    again.activate(**world.credentials())
    assert again.status().activation_id == first.status().activation_id


def test_refused_credentials_and_codes(tmp_path, world, service):
    license_id = world.setup()
    with pytest.raises(InvalidCredentials):
        installation(tmp_path, service, "x").activate(username="alice", password="wrong")
    code = world.code(license_id)
    coded = installation(tmp_path, service, "coded")
    coded.activate(activation_code=code)
    assert coded.status().valid
    with pytest.raises(InvalidActivationCode):
        installation(tmp_path, service, "again").activate(activation_code=code)


def test_release_by_another_party_is_seen_at_refresh(tmp_path, world, service):
    world.setup()
    client = installation(tmp_path, service, "released")
    client.activate(**world.credentials())
    # The same device deactivating from a second copy of its state: the seat is gone.
    twin = LicenseClient("numflo", tmp_path / "released", server_url=service)
    assert twin.deactivate() is True
    with pytest.raises((ActivationReleased, NotActivated)):
        client.refresh(force=True)


def test_jwks_pinned_at_activation_matches_the_service(tmp_path, world, service):
    world.setup()
    client = installation(tmp_path, service, "pinned")
    client.activate(**world.credentials())
    published = requests.get(service + "/v1/keys", timeout=5).json()
    state = client.state_store.load()
    assert {k["kid"] for k in state.jwks["keys"]} == {k["kid"] for k in published["keys"]}
