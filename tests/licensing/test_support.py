"""Support staff release a seat, e.g. of an air-gapped device that cannot deactivate."""

from __future__ import annotations

import json

from support import Device


def staff_token(runner, role: str) -> str:
    result = runner.invoke(args=["admin", "create-staff", f"{role}-person", "--role", role,
                                 "--json"])
    return json.loads(result.stdout)["token"]


def release(client, activation_id, token=None, reason="TICKET-1234"):
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if reason:
        headers["X-Access-Reason"] = reason
    return client.post(f"/v1/support/activations/{activation_id}/release", headers=headers)


def test_support_releases_a_seat_for_another_device(client, world, runner):
    world.setup(seats=1)
    device = Device()
    activation_id = device.activate(client, **world.credentials()).json["activation_id"]
    assert Device().activate(client, **world.credentials()).status_code == 409
    token = staff_token(runner, "support")
    released = release(client, activation_id, token)
    assert released.status_code == 200
    assert released.json["activation_id"] == activation_id
    assert release(client, activation_id, token).json == released.json  # idempotent
    assert Device().activate(client, **world.credentials()).status_code == 201
    assert device.refresh(client, activation_id).json["code"] == "ACTIVATION_RELEASED"


def test_release_needs_staff_role_and_reason(client, world, runner):
    world.setup()
    activation_id = Device().activate(client, **world.credentials()).json["activation_id"]
    assert release(client, activation_id).json["code"] == "UNAUTHENTICATED"
    assert release(client, activation_id, "tss_forged-token").status_code == 401
    compliance = staff_token(runner, "compliance")
    assert release(client, activation_id, compliance).json["code"] == "FORBIDDEN"
    support = staff_token(runner, "support")
    missing = release(client, activation_id, support, reason=None)
    assert missing.status_code == 400 and "X-Access-Reason" in missing.json["errors"]
    assert release(client, "act_unknown", support).json["code"] == "NOT_FOUND"
