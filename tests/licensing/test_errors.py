"""The contract's error table and check order, case by case."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from support import Device

from core.database import db, utcnow
from licensing.accounts.models import Account
from licensing.catalog.models import License

PATH = "/v1/activations"


def post(client, body, device=None, *, data=None, content_type="application/json", proof=True):
    device = device or Device()
    headers = {"DPoP": device.proof("POST", PATH)} if proof else {}
    if data is None:
        import json
        data = json.dumps(body)
    return client.post(PATH, data=data, headers=headers, content_type=content_type)


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.get_data(as_text=True)
    assert set(response.json) == {"code", "message", "errors"}
    assert response.json["code"] == code


def test_oversize_body_is_413_before_anything_else(client):
    response = post(client, None, data="x" * (65 * 1024), content_type="text/plain", proof=False)
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")


def test_wrong_content_type_is_415_before_proof(client):
    assert_error(post(client, None, data="{}", content_type="text/plain", proof=False),
                 415, "UNSUPPORTED_MEDIA_TYPE")


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe{}", b"[1, 2]",
                                 b"[" * 40 + b"]" * 40, b'{"a":' * 33 + b"1" + b"}" * 33])
def test_malformed_json_is_400_before_proof(client, raw):
    assert_error(post(client, None, data=raw, proof=False), 400, "MALFORMED_JSON")


def test_nesting_at_the_limit_is_accepted_as_json(client):
    raw = '{"a":' * 31 + "1" + "}" * 31
    # Valid JSON within 32 levels: the next check (the proof) answers.
    assert_error(post(client, None, data=raw, proof=False), 401, "INVALID_PROOF")


def test_missing_proof_is_401_before_validation(client):
    assert_error(post(client, {"unknown": 1}, proof=False), 401, "INVALID_PROOF")


def test_unknown_fields_are_refused(client, world):
    world.setup()
    device = Device()
    response = post(client, {**device.activation_body(**world.credentials()), "extra": 1}, device)
    assert_error(response, 400, "VALIDATION_FAILED")
    assert "extra" in response.json["errors"]


@pytest.mark.parametrize("body, field", [
    ({"product": "numflo", "fingerprint": "short", "activation_code": "x"}, "fingerprint"),
    ({"product": "numflo", "fingerprint": "f" * 513, "activation_code": "x"}, "fingerprint"),
    ({"product": "numflo", "fingerprint": "f" * 20, "device_name": "d" * 65,
      "activation_code": "x"}, "device_name"),
    ({"product": "numflo", "fingerprint": "f" * 20, "username": "a"}, "_schema"),
    ({"product": "numflo", "fingerprint": "f" * 20, "username": "a", "password": "b",
      "activation_code": "c"}, "activation_code"),
])
def test_validation_errors_name_the_field(client, body, field):
    response = post(client, body)
    assert_error(response, 400, "VALIDATION_FAILED")
    assert field in response.json["errors"]


def test_stale_future_and_misdirected_proofs(client, world):
    world.setup()
    device = Device()
    body = device.activation_body(**world.credentials())
    cases = [
        device.proof("POST", PATH, iat=time.time() - 301),
        device.proof("POST", PATH, iat=time.time() + 301),
        device.proof("GET", PATH),
        device.proof("POST", PATH, htu="http://evil.example/v1/activations"),
        device.proof("POST", PATH, headers={"typ": "JWT"}),
    ]
    for proof in cases:
        response = client.post(PATH, json=body, headers={"DPoP": proof})
        assert_error(response, 401, "INVALID_PROOF")


def test_htu_is_compared_after_normalisation(client, world):
    world.setup()
    device = Device()
    body = device.activation_body(**world.credentials())
    proof = device.proof("POST", PATH, htu="HTTP://LOCALHOST:80/v1/%61ctivations?x=1")
    assert client.post(PATH, json=body, headers={"DPoP": proof}).status_code == 201


def test_public_url_decides_htu(app_factory):
    from conftest import World

    app = app_factory(TESSERA_PUBLIC_URL="https://licensing.example.com/")
    client, world = app.test_client(), World(app)
    world.setup()
    device = Device(base_url="https://licensing.example.com")
    assert device.activate(client, **world.credentials()).status_code == 201
    local = Device()
    assert_error(local.activate(client, **world.credentials()), 401, "INVALID_PROOF")


def _update(app, model, **values):
    with app.app_context():
        db.session.execute(sa.update(model).values(**values))
        db.session.commit()


@pytest.mark.parametrize("status, code", [("suspended", "LICENSE_SUSPENDED"),
                                          ("revoked", "LICENSE_REVOKED")])
def test_license_states_refuse_activation_and_refresh(app, client, world, status, code):
    world.setup()
    device = Device()
    activation_id = device.activate(client, **world.credentials()).json["activation_id"]
    _update(app, License, status=status)
    assert_error(Device().activate(client, **world.credentials()), 403, code)
    assert_error(device.refresh(client, activation_id), 403, code)


def test_expired_license_refuses_but_earlier_lease_reaches_into_grace(app, client, world):
    world.setup(days=1, grace_seconds=3600)
    device = Device()
    first = device.activate(client, **world.credentials()).json
    _update(app, License, expires_at=utcnow() - timedelta(seconds=5))
    assert_error(device.refresh(client, first["activation_id"]), 403, "LICENSE_EXPIRED")
    assert_error(Device().activate(client, **world.credentials()), 403, "LICENSE_EXPIRED")


def test_lease_never_outlives_license_end_plus_grace(app, client, world):
    world.setup(days=1, grace_seconds=3600, lease_seconds=7 * 86400)
    answer = Device().activate(client, **world.credentials()).json
    with app.app_context():
        license = db.session.scalar(sa.select(License))
        limit = license.expires_at + timedelta(seconds=3600)
    from support import unverified_claims
    claims = unverified_claims(answer["lease"])
    assert claims["exp"] == int(limit.timestamp())
    assert claims["lxp"] == int(license.expires_at.timestamp())


def test_perpetual_license_has_no_end(client, world):
    world.setup(kind="perpetual")
    answer = Device().activate(client, **world.credentials()).json
    assert answer["license"]["expires_at"] is None
    from support import unverified_claims
    claims = unverified_claims(answer["lease"])
    assert claims["lxp"] is None
    assert claims["exp"] - claims["iat"] == 7 * 86400


def test_restricted_account_is_refused_before_license_checks(app, client, world):
    world.setup()
    device = Device()
    activation_id = device.activate(client, **world.credentials()).json["activation_id"]
    _update(app, Account, restricted_at=utcnow())
    _update(app, License, status="revoked")
    assert_error(Device().activate(client, **world.credentials()), 403, "ACCOUNT_RESTRICTED")
    assert_error(device.refresh(client, activation_id), 403, "ACCOUNT_RESTRICTED")


def test_most_recent_license_state_is_reported(app, client, world):
    first = world.setup()
    world.setup()
    with app.app_context():
        db.session.execute(sa.update(License).where(License.id == first)
                           .values(status="revoked"))
        db.session.execute(sa.update(License).where(License.id != first)
                           .values(status="suspended"))
        db.session.commit()
    assert_error(Device().activate(client, **world.credentials()), 403, "LICENSE_SUSPENDED")


def test_seat_goes_to_license_that_ends_last(app, client, world):
    short = world.setup(seats=1, days=10)
    long = world.setup(seats=1, days=100)
    first = Device().activate(client, **world.credentials()).json
    second = Device().activate(client, **world.credentials()).json
    assert first["license"]["id"] == long
    assert second["license"]["id"] == short
    assert_error(Device().activate(client, **world.credentials()), 409, "SEAT_LIMIT_REACHED")


def test_expired_activation_code_is_refused(app, client, world):
    license_id = world.setup()
    code = world.code(license_id)
    from licensing.catalog.models import ActivationCode
    _update(app, ActivationCode, expires_at=utcnow() - timedelta(seconds=1))
    assert_error(Device().activate(client, activation_code=code), 401, "INVALID_ACTIVATION_CODE")


def test_garbage_activation_code_is_refused(client, world):
    world.setup()
    assert_error(Device().activate(client, activation_code="not-a-code"), 401,
                 "INVALID_ACTIVATION_CODE")


def test_unknown_route_and_wrong_method(client):
    assert_error(client.get("/v1/nothing-here"), 404, "NOT_FOUND")
    response = client.get(PATH)
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert "POST" in response.headers["Allow"]


def test_unexpected_failure_is_a_generic_500(app, client, world, monkeypatch):
    world.setup()
    from licensing.activation import services

    def explode(*args, **kwargs):
        raise RuntimeError("secret internal detail: SELECT * FROM accounts")

    monkeypatch.setattr(services.ActivationService, "activate_with_password", explode)
    response = Device().activate(client, **world.credentials())
    assert_error(response, 500, "INTERNAL_ERROR")
    assert "SELECT" not in response.get_data(as_text=True)
    assert response.headers["X-Request-Id"]


def test_a_second_active_seat_for_one_device_is_409_and_the_session_recovers(app, world):
    """The unique index is the last line behind the license lock: its violation is a
    409, and the request's rollback leaves the session usable."""
    from licensing.activation.dpop import VerifiedProof
    from licensing.activation.services import DeviceClaim
    from licensing.errors import Conflict
    from licensing.wiring import activation_service

    license_id = world.setup()
    device = Device()
    claim = DeviceClaim(product="numflo", fingerprint=device.fingerprint,
                        proof=VerifiedProof(device.jkt, device.x, "jti-1"))
    with app.test_request_context():
        service = activation_service()
        (license,) = db.session.scalars(sa.select(License).where(License.id == license_id))
        service._new_seat(claim, license, False, utcnow())
        with pytest.raises(Conflict):
            service._new_seat(claim, license, False, utcnow())
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(License)) == 1
