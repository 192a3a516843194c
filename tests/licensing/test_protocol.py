"""The desktop protocol end to end through the Flask test client."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from support import Device, decode_lease, unverified_claims

from core.database import UTCDateTime, db
from licensing.activation.models import Seat


def activate(client, world, device, **extra):
    return device.activate(client, **world.credentials(), **extra)


def test_two_seats_then_limit_then_reuse(client, world):
    world.setup(seats=2)
    a, b, c = Device(), Device(), Device()
    first = activate(client, world, a)
    assert first.status_code == 201, first.json
    assert activate(client, world, b).status_code == 201
    refused = activate(client, world, c)
    assert refused.status_code == 409
    assert refused.json == {"code": "SEAT_LIMIT_REACHED",
                            "message": "All 2 seats of this license are in use.", "errors": {}}
    again = activate(client, world, a)
    assert again.status_code == 200
    assert again.json["activation_id"] == first.json["activation_id"]
    assert again.json["license"]["seats_used"] == 2


def test_lease_verifies_against_jwks_and_binds_device_key(client, world):
    license_id = world.setup(seats=2)
    device = Device()
    answer = activate(client, world, device).json
    claims = decode_lease(answer["lease"], client.get("/v1/keys").json)
    assert claims["sub"] == answer["activation_id"]
    assert claims["aud"] == "numflo"
    assert claims["lic"] == license_id
    assert claims["cnf"] == {"jkt": device.jkt}
    assert claims["ent"] == ["solver", "mesher"]
    assert claims["iss"] == "tessera"
    assert claims["rfa"] == claims["iat"] + (claims["exp"] - claims["iat"]) // 2
    assert answer["license"]["kind"] == "subscription"
    assert answer["license"]["seats"] == 2 and answer["license"]["seats_used"] == 1


def test_refresh_gives_a_later_lease(client, world):
    world.setup()
    device = Device()
    answer = activate(client, world, device).json
    time.sleep(1.05)
    refreshed = device.refresh(client, answer["activation_id"])
    assert refreshed.status_code == 200, refreshed.json
    old, new = unverified_claims(answer["lease"]), unverified_claims(refreshed.json["lease"])
    assert new["iat"] > old["iat"] and new["exp"] > old["exp"]
    assert new["jti"] != old["jti"]


def test_refresh_with_another_key_is_refused(client, world):
    world.setup()
    device, thief = Device(), Device()
    activation_id = activate(client, world, device).json["activation_id"]
    refused = thief.refresh(client, activation_id)
    assert refused.status_code == 401
    assert refused.json["code"] == "INVALID_PROOF"


def test_replayed_proof_is_refused(client, world):
    world.setup()
    device = Device()
    activation_id = activate(client, world, device).json["activation_id"]
    path = f"/v1/activations/{activation_id}/refresh"
    proof = device.proof("POST", path)
    assert client.post(path, json={}, headers={"DPoP": proof}).status_code == 200
    replay = client.post(path, json={}, headers={"DPoP": proof})
    assert replay.status_code == 401 and replay.json["code"] == "INVALID_PROOF"


def test_proof_spent_even_when_request_fails(client, world):
    world.setup(seats=1)
    Device().activate(client, **world.credentials())
    late = Device()
    path = "/v1/activations"
    proof = late.proof("POST", path)
    body = late.activation_body(**world.credentials())
    assert client.post(path, json=body, headers={"DPoP": proof}).status_code == 409
    replay = client.post(path, json=body, headers={"DPoP": proof})
    assert replay.status_code == 401 and replay.json["code"] == "INVALID_PROOF"


def test_deactivate_frees_seat_and_refresh_gets_410(client, world):
    world.setup(seats=2)
    a, b, c = Device(), Device(), Device()
    a_id = activate(client, world, a).json["activation_id"]
    activate(client, world, b)
    assert activate(client, world, c).status_code == 409
    assert a.deactivate(client, a_id).status_code == 204
    assert a.deactivate(client, a_id).status_code == 204  # idempotent
    assert activate(client, world, c).status_code == 201
    gone = a.refresh(client, a_id)
    assert gone.status_code == 410 and gone.json["code"] == "ACTIVATION_RELEASED"


def test_unknown_activation_is_404_and_wrong_key_on_released_is_401(client, world):
    world.setup()
    device, other = Device(), Device()
    assert device.refresh(client, "act_nope").json["code"] == "NOT_FOUND"
    activation_id = activate(client, world, device).json["activation_id"]
    device.deactivate(client, activation_id)
    assert other.refresh(client, activation_id).status_code == 401
    assert other.deactivate(client, activation_id).status_code == 401


def test_same_fingerprint_rebinds_to_new_key(client, world):
    world.setup()
    old = Device()
    first = activate(client, world, old).json
    reinstalled = Device(fingerprint=old.fingerprint)
    second = activate(client, world, reinstalled)
    assert second.status_code == 200
    assert second.json["activation_id"] == first["activation_id"]
    assert unverified_claims(second.json["lease"])["cnf"]["jkt"] == reinstalled.jkt
    assert old.refresh(client, first["activation_id"]).status_code == 401
    assert reinstalled.refresh(client, first["activation_id"]).status_code == 200


def test_activation_code_activates_once(client, world):
    license_id = world.setup(seats=3)
    code = world.code(license_id)
    first = Device().activate(client, activation_code=code)
    assert first.status_code == 201, first.json
    assert first.json["license"]["id"] == license_id
    again = Device().activate(client, activation_code=code.lower().replace("-", " "))
    assert again.status_code == 401
    assert again.json["code"] == "INVALID_ACTIVATION_CODE"


def test_activation_code_for_another_product_is_refused(client, world):
    license_id = world.setup()
    world.setup(product="meshpro")
    code = world.code(license_id)
    refused = Device().activate(client, product="meshpro", activation_code=code)
    assert refused.status_code == 401 and refused.json["code"] == "INVALID_ACTIVATION_CODE"
    assert Device().activate(client, activation_code=code).status_code == 201


def test_wrong_password_and_unknown_user_give_same_body(client, world):
    world.setup()
    wrong = Device().activate(client, username="alice", password="nope")
    unknown = Device().activate(client, username="mallory", password="nope")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json == unknown.json
    assert wrong.json["code"] == "INVALID_CREDENTIALS"


def test_no_license_for_product(client, world):
    world.setup()
    world.setup(product="meshpro", username="bob")
    refused = Device().activate(client, product="meshpro", **world.credentials())
    assert refused.status_code == 404 and refused.json["code"] == "NO_LICENSE_FOR_PRODUCT"


def _seat_stamp(app, activation_id: str):
    with app.app_context():
        return db.session.execute(
            sa.select(Seat.last_refresh_at, Seat.country, Seat.ip_prefix)
            .where(Seat.id == activation_id)).one()


REFUSALS = {
    # state name: (SQL that puts the seat in that state, status, code)
    "suspended": ("UPDATE licenses SET status = 'suspended'", 403, "LICENSE_SUSPENDED"),
    "revoked": ("UPDATE licenses SET status = 'revoked'", 403, "LICENSE_REVOKED"),
    "expired": ("UPDATE licenses SET expires_at = :past", 403, "LICENSE_EXPIRED"),
    "not started": ("UPDATE licenses SET starts_at = :future", 403, "LICENSE_EXPIRED"),
    "restricted": ("UPDATE accounts SET restricted_at = :past", 403, "ACCOUNT_RESTRICTED"),
    "released": ("UPDATE seats SET released_at = :past", 410, "ACTIVATION_RELEASED"),
}


@pytest.mark.parametrize("state", sorted(REFUSALS))
def test_refused_refresh_spends_its_proof_and_leaves_the_seat_unstamped(app, client, world,
                                                                        state):
    world.setup()
    device = Device()
    activation_id = activate(client, world, device).json["activation_id"]
    before = _seat_stamp(app, activation_id)
    statement, status, code = REFUSALS[state]
    now = datetime.now(timezone.utc)
    with app.app_context():
        times = {"past": now - timedelta(days=1), "future": now + timedelta(days=1)}
        db.session.execute(sa.text(statement).bindparams(
            *(sa.bindparam(name, value, type_=UTCDateTime()) for name, value in times.items()
              if f":{name}" in statement)))
        db.session.commit()
    path = f"/v1/activations/{activation_id}/refresh"
    proof = device.proof("POST", path)
    refused = client.post(path, json={}, headers={"DPoP": proof},
                          environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert (refused.status_code, refused.json["code"]) == (status, code)
    # Nothing of the refused request was written: not its time, not its address.
    assert _seat_stamp(app, activation_id) == before
    replay = client.post(path, json={}, headers={"DPoP": proof})
    assert replay.status_code == 401 and replay.json["code"] == "INVALID_PROOF"


def test_replayed_proof_is_401_before_a_bad_body_is_400(client, world):
    world.setup()
    device = Device()
    activation_id = activate(client, world, device).json["activation_id"]
    path = f"/v1/activations/{activation_id}/refresh"
    proof = device.proof("POST", path)
    bad = client.post(path, json={"fingerprint": "short"}, headers={"DPoP": proof})
    assert bad.status_code == 400 and bad.json["code"] == "VALIDATION_FAILED"
    again = client.post(path, json={"fingerprint": "short"}, headers={"DPoP": proof})
    assert again.status_code == 401 and again.json["code"] == "INVALID_PROOF"


def test_replayed_proof_on_an_unknown_activation_is_401_not_404(client):
    device = Device()
    path = "/v1/activations/act_nope/refresh"
    proof = device.proof("POST", path)
    first = client.post(path, json={}, headers={"DPoP": proof})
    assert first.status_code == 404 and first.json["code"] == "NOT_FOUND"
    replay = client.post(path, json={}, headers={"DPoP": proof})
    assert replay.status_code == 401 and replay.json["code"] == "INVALID_PROOF"


def test_refresh_stamps_the_seat_and_counts_seats_in_use(app, client, world):
    world.setup(seats=3)
    a, b = Device(), Device()
    activation_id = activate(client, world, a).json["activation_id"]
    activate(client, world, b)
    time.sleep(1.05)
    refreshed = a.refresh(client, activation_id)
    assert refreshed.status_code == 200
    assert refreshed.json["license"]["seats_used"] == 2
    stamped = _seat_stamp(app, activation_id).last_refresh_at
    issued = unverified_claims(refreshed.json["lease"])["iat"]
    assert abs(stamped.timestamp() - issued) < 1


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@pytest.mark.parametrize("respell", [
    lambda x: x[:10] + "!!!!" + x[10:],  # characters outside the alphabet
    lambda x: x[:10] + "\n\n\n\n" + x[10:],
    lambda x: x[:-1] + _ALPHABET[_ALPHABET.index(x[-1]) ^ 1],  # unused trailing bits set
    lambda x: x + "=",                    # padding: RFC 7515 base64url has none
])
def test_device_key_with_a_second_spelling_is_refused(client, world, respell):
    # A lax decoder dropped characters outside the alphabet, so one key had many
    # spellings, each with its own thumbprint: one device could pass for several.
    world.setup()
    device = Device()
    header = {"jwk": {"kty": "OKP", "crv": "Ed25519", "x": respell(device.x)}}
    path = "/v1/activations"
    answer = client.post(path, json=device.activation_body(**world.credentials()),
                         headers={"DPoP": device.proof("POST", path, headers=header)})
    assert answer.status_code == 401, answer.json
    assert answer.json["code"] == "INVALID_PROOF"
