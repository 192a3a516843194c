"""An erasure request filed in the Customer Area and completed by a privacy officer.

The account's canary personal data goes through sign-in, activation,
refresh, a consent, a request note and a rectification request; after the
officer completes the erasure through the API, the account can neither sign
in nor activate, the outcome says what was kept and why, and no canary is
left in either database (SQLite files with their WAL, or a pg_dump), the
instance folder or the captured logs.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from privacy.logging import tessera_handler
from privacy_support import database_blobs, invoke_json, scan, staff_token
from support import Device

CLIENT_ADDRESS = "198.51.100.91"
CAROL = {"username": "canary-carol", "email": "Carol.Canary@Example.ORG",
         "name": "Carolina Canarywoman", "company": "Canarium Holdings",
         "password": "CANARY-PASSWORD-c4r0l-91ab", "fingerprint": "CANARY-FINGERPRINT-c4r0lc4r0l",
         "device_name": "CANARY-LABEL-carol-workstation",
         "new_email": "carol.renamed.canary@example.net"}


@pytest.fixture
def through_proxy(app_config):
    app_config.update(TESSERA_TRUSTED_PROXIES=1, TESSERA_LOG_FORMAT="json")
    return app_config


def _post(client, device: Device, path: str, body: dict):
    return client.post(path, json=body, headers={
        "DPoP": device.proof("POST", path), "X-Forwarded-For": CLIENT_ADDRESS},
        environ_base={"REMOTE_ADDR": "10.0.0.5"})


def _set_up_carol(runner) -> str:
    invoke_json(runner, "admin", "create-product", "numflo", "NUMFLO")
    invoke_json(runner, "admin", "create-account", CAROL["username"], "--email", CAROL["email"],
                "--password", CAROL["password"], "--name", CAROL["name"],
                "--company", CAROL["company"], "--country", "be")
    license_id = invoke_json(runner, "admin", "issue-license", CAROL["username"], "numflo",
                             "--seats", "2", "--kind", "subscription")["id"]
    return invoke_json(runner, "admin", "issue-code", license_id)["code"]


def _use_the_service(client) -> tuple[dict, Device, str]:
    device = Device(fingerprint=CAROL["fingerprint"])
    body = device.activation_body(username=CAROL["username"], password=CAROL["password"],
                                  device_name=CAROL["device_name"])
    seat = _post(client, device, "/v1/activations", body)
    assert seat.status_code == 201, seat.json
    refresh = f"/v1/activations/{seat.json['activation_id']}/refresh"
    assert _post(client, device, refresh, {"fingerprint": CAROL["fingerprint"]}).status_code == 200
    token = client.post("/v1/session", json={"username": CAROL["username"],
                                             "password": CAROL["password"]}).json["token"]
    me = {"Authorization": f"Bearer {token}"}
    assert client.put("/v1/me/consents/marketing", json={"granted": True},
                      headers=me).status_code == 200
    assert client.post("/v1/me/requests", headers=me, json={
        "type": "rectification", "details": {"email": CAROL["new_email"]}}).status_code == 202
    return me, device, token


def test_an_erasure_request_completed_through_the_api_leaves_no_canary(
        through_proxy, app, client, runner, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    log = io.StringIO()
    tessera_handler().setStream(log)
    code = _set_up_carol(runner)
    me, device, token = _use_the_service(client)
    filed = client.post("/v1/me/requests", headers=me, json={
        "type": "erasure", "details": {"note": f"I am {CAROL['name']}, erase everything"}})
    assert filed.status_code == 202

    staff = {"Authorization": f"Bearer {staff_token(app, 'privacy')}",
             "X-Access-Reason": f"DSR-912 for {CAROL['name']} <{CAROL['email']}>"}
    done = client.post(f"/v1/privacy/requests/{filed.json['id']}/complete", headers=staff,
                       json={})
    assert done.status_code == 200, done.json
    assert done.json["status"] == "completed"
    outcome = done.json["outcome"]
    assert outcome["erased"]["licensing"] and outcome["erased"]["privacy"]
    kept = {k["purpose"]: k for k in outcome["kept"]}
    assert set(kept) >= {"license.compliance", "privacy.rights", "staff.access"}
    for entry in outcome["kept"]:
        assert entry["what"] and entry["why"] and entry["until"]
        assert entry["lawful_basis"] in ("legitimate_interests", "legal_obligation")
    assert kept["privacy.rights"]["lawful_basis"] == "legal_obligation"

    # The account is gone for every way in.
    assert client.get("/v1/me", headers=me).status_code == 401
    signed = client.post("/v1/session", json={"username": CAROL["username"],
                                              "password": CAROL["password"]})
    assert signed.status_code == 401 and signed.json["code"] == "INVALID_CREDENTIALS"
    again = Device().activation_body(username=CAROL["username"], password=CAROL["password"])
    assert _post(client, Device(), "/v1/activations", again).status_code == 401
    coded = Device().activation_body(activation_code=code)
    assert _post(client, Device(), "/v1/activations", coded).status_code == 401
    listed = client.get("/v1/privacy/requests?type=erasure", headers=staff).json["requests"]
    assert listed[0]["outcome"]["kept"] == outcome["kept"] and listed[0]["details"] == {}

    canaries = [CLIENT_ADDRESS, token, code, code.replace("-", ""), CAROL["username"],
                *CAROL["name"].split()]
    canaries += [value for key, value in CAROL.items() if key not in ("username", "name")]
    instance = Path(app.config["TESSERA_INSTANCE_DIR"])
    blobs = database_blobs(app, tmp_path)
    blobs.update({f"instance/{p.name}": p.read_bytes() for p in instance.iterdir() if p.is_file()})
    blobs["tessera log"] = log.getvalue().encode()
    blobs["other loggers"] = caplog.text.encode()
    assert not scan(blobs, canaries)
