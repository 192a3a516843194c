"""LicenseClient against a stand-in service: activation, offline use, refresh, release."""

from __future__ import annotations

import json
import os
import shutil
import stat

import pytest

from tessera_client import (
    ActivationReleased,
    ClockTampered,
    LicenseExpired,
    LicenseRevoked,
    LicenseSuspended,
    LocalStateError,
    SeatLimitReached,
    derive_fingerprint,
)


def _state(tmp_path) -> dict:
    return json.loads((tmp_path / "state" / "state.json").read_text())


def test_activation_with_password_installs_a_verified_lease(tessera, make_client, tmp_path, kit):
    client = make_client(issuer=kit.ISSUER)

    status = client.activate(username="ada", password="correct horse", device_name="lab-3")

    assert status.valid and status.activated and status.reason is None
    assert (status.activation_id, status.license_id, status.kind) == (
        "act_123",
        "lic_456",
        "subscription",
    )
    assert status.entitlements == ("solver", "mesher")
    assert status.lease_expires_at == kit.NOW + kit.LEASE_SECONDS and not status.refresh_due
    body = tessera.bodies[0]
    assert (
        body["product"] == kit.PRODUCT
        and body["username"] == "ada"
        and body["device_name"] == "lab-3"
    )
    assert body["fingerprint"] == derive_fingerprint(kit.MACHINE_ID, kit.PRODUCT)
    assert "activation_code" not in body and body["platform"]


def test_the_raw_machine_id_never_leaves_the_machine(tessera, http, make_client, kit):
    make_client().activate(username="ada", password="pw")

    for call in http.calls:
        sent = json.dumps(dict(call.request.headers)) + str(call.request.body or "")
        assert kit.MACHINE_ID not in sent
        assert kit.MACHINE_ID.replace("-", "") not in sent


def test_state_and_key_are_owner_only_and_hold_what_offline_use_needs(
    tessera, make_client, tmp_path, kit
):
    make_client().activate(activation_code="7QKD-M3XW-5R2T-A9PB-HC4N-6YEZ-1G")

    state = _state(tmp_path)
    assert tessera.bodies[0]["activation_code"] == "7QKD-M3XW-5R2T-A9PB-HC4N-6YEZ-1G"
    assert state["product"] == kit.PRODUCT and state["server_url"] == kit.SERVER
    assert state["activation_id"] == "act_123" and state["lease"].count(".") == 2
    assert state["jwks"] == tessera.jwks, "keys are pinned at the first activation"
    assert state["last_seen"] == kit.NOW
    assert tessera.keys_calls == 1
    if os.name == "posix":
        for name in ("state.json", "device-key.pem"):
            assert stat.S_IMODE(os.stat(tmp_path / "state" / name).st_mode) == 0o600
    assert [p.name for p in (tmp_path / "state").iterdir() if p.name.endswith(".tmp")] == []


def test_explicit_fingerprint_replaces_the_machine_id(tessera, make_client):
    make_client(fingerprint="customer-asset-0042-abcdef").activate(username="ada", password="pw")
    assert tessera.bodies[0]["fingerprint"] == "customer-asset-0042-abcdef"


@pytest.mark.parametrize(
    "credentials",
    [
        {},
        {"username": "ada"},
        {"username": "ada", "password": "pw", "activation_code": "CODE"},
    ],
)
def test_activation_needs_exactly_one_kind_of_credential(http, make_client, credentials):
    with pytest.raises(ValueError):
        make_client().activate(**credentials)
    assert len(http.calls) == 0


def test_seat_limit_is_reported_and_nothing_is_installed(tessera, make_client, tmp_path):
    tessera.activation_error = (409, "SEAT_LIMIT_REACHED")
    client = make_client()

    with pytest.raises(SeatLimitReached) as caught:
        client.activate(username="ada", password="pw")

    assert caught.value.status == 409
    assert client.status().reason == "NOT_ACTIVATED"
    assert len(tessera.proofs) == 1, "a refusal is final: no retry"


def test_status_works_without_network_until_the_lease_ends(tessera, http, make_client, clock, kit):
    client = make_client()
    client.activate(username="ada", password="pw")
    calls = len(http.calls)

    clock.now = kit.NOW + kit.LEASE_SECONDS // 2
    halfway = client.status()
    clock.now = kit.NOW + kit.LEASE_SECONDS
    ended = client.status()

    assert halfway.valid and halfway.refresh_due
    assert not ended.valid and ended.reason == "LEASE_EXPIRED" and ended.refresh_due
    assert len(http.calls) == calls


def test_refresh_only_when_due_unless_forced(tessera, make_client, clock, kit):
    client = make_client()
    client.activate(username="ada", password="pw")
    first_lease = client.verify()

    assert client.refresh() is False
    assert client.refresh(force=True) is True
    clock.now = kit.NOW + kit.LEASE_SECONDS // 2 + 1
    assert client.refresh() is True

    lease = client.verify()
    assert lease.issued_at == clock.now and lease.expires_at > first_lease.expires_at
    refresh_proofs = [p for p in tessera.proofs if p["htu"].endswith("/refresh")]
    assert len(refresh_proofs) == 2


def test_refresh_after_release_forgets_the_activation(tessera, make_client):
    client = make_client()
    client.activate(username="ada", password="pw")
    tessera.released.add("act_123")

    with pytest.raises(ActivationReleased):
        client.refresh(force=True)

    status = client.status()
    assert not status.valid and status.reason == "NOT_ACTIVATED" and status.activation_id is None


@pytest.mark.parametrize(
    ("code", "error"),
    [("LICENSE_REVOKED", LicenseRevoked), ("LICENSE_SUSPENDED", LicenseSuspended)],
)
def test_revocation_withdraws_the_lease_until_a_refresh_succeeds(tessera, make_client, code, error):
    client = make_client()
    client.activate(username="ada", password="pw")
    tessera.refresh_error = (403, code)

    with pytest.raises(error):
        client.refresh(force=True)
    withdrawn = client.status()
    tessera.refresh_error = None
    client.refresh()  # due, because the lease was withdrawn
    restored = client.status()

    assert not withdrawn.valid and withdrawn.reason == code
    assert restored.valid


def test_an_expired_licence_keeps_the_lease_for_the_grace_period(tessera, make_client):
    client = make_client()
    client.activate(username="ada", password="pw")
    tessera.refresh_error = (403, "LICENSE_EXPIRED")

    with pytest.raises(LicenseExpired):
        client.refresh(force=True)
    assert client.status().valid


def test_deactivation_frees_the_seat_and_is_idempotent(tessera, http, make_client):
    client = make_client()
    client.activate(username="ada", password="pw")

    assert client.deactivate() is True
    calls = len(http.calls)
    assert client.deactivate() is False

    assert "act_123" in tessera.released
    assert len(http.calls) == calls
    assert client.status().reason == "NOT_ACTIVATED"


def test_deactivation_of_a_seat_support_already_freed_still_cleans_up(tessera, make_client):
    client = make_client()
    client.activate(username="ada", password="pw")
    del tessera.bound["act_123"]  # the service answers 404 now

    assert client.deactivate() is True
    assert client.status().reason == "NOT_ACTIVATED"


def test_setting_the_clock_back_invalidates_the_lease(tessera, make_client, clock, kit):
    client = make_client()
    client.activate(username="ada", password="pw")
    clock.now = kit.NOW + 3 * 86400
    client.refresh(force=True)  # the service's Date is now three days later

    clock.now = kit.NOW + 86400
    status = client.status()

    assert not status.valid and status.reason == "CLOCK_TAMPERED"


def test_a_service_date_far_ahead_of_the_local_clock_is_refused(tessera, make_client):
    tessera.date_offset = 3600  # our clock is an hour behind the service's Date

    with pytest.raises(ClockTampered):
        make_client().activate(username="ada", password="pw")
    assert make_client().status().reason == "NOT_ACTIVATED"


def test_check_keeps_working_offline_when_refresh_is_due(tessera, make_client, clock, sleeps, kit):
    client = make_client()
    client.activate(username="ada", password="pw")
    tessera.offline = True
    clock.now = kit.NOW + kit.LEASE_SECONDS - 60

    status = client.check()

    assert status.valid and status.refresh_due
    assert len(sleeps) == 3, "the refresh was retried with backoff before giving up"


def test_check_refreshes_when_due_and_online(tessera, make_client, clock, kit):
    client = make_client()
    client.activate(username="ada", password="pw")
    clock.now = kit.NOW + kit.LEASE_SECONDS // 2 + 10

    status = client.check()

    assert status.valid and not status.refresh_due
    assert status.lease_expires_at == clock.now + kit.LEASE_SECONDS


def test_a_rotated_signing_key_is_fetched_once_and_pinned(
    tessera, make_client, signer, tmp_path, kit
):
    client = make_client()
    client.activate(username="ada", password="pw")
    rotated = kit.Signer(kid="lease-2027-02")
    tessera.signer = rotated
    tessera.jwks = {"keys": [signer.public_jwk, rotated.public_jwk]}

    client.refresh(force=True)

    assert client.verify().key_id == "lease-2027-02"
    assert tessera.keys_calls == 2  # first activation, then once for the new kid
    assert _state(tmp_path)["jwks"] == tessera.jwks


def test_a_state_copied_to_another_device_is_useless(tessera, make_client, tmp_path):
    make_client().activate(username="ada", password="pw")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(tmp_path / "state" / "state.json", elsewhere / "state.json")

    status = make_client(state_dir=elsewhere).status()

    assert not status.valid and status.reason == "LEASE_NOT_FOR_THIS_DEVICE"


def test_one_state_directory_belongs_to_one_product(tessera, make_client):
    make_client().activate(username="ada", password="pw")

    with pytest.raises(LocalStateError):
        make_client(product="meshpro").activate(username="ada", password="pw")
    assert make_client(product="meshpro").status().reason == "NOT_ACTIVATED"
