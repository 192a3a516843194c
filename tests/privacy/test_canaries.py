"""Planted identifiers never reach a database file, a database dump or the log.

Canary values (device IDs, emails, names, companies, device labels, passwords,
an activation code, and a client address forwarded by a trusted proxy) go
through activation, refresh, deactivation, a vault read-back, an access-log
query and an erasure; then every SQLite file (and the WAL beside it), a
pg_dump of both PostgreSQL databases when the suite runs there, the instance
folder and the captured log are searched for them.
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from privacy_support import database_blobs, invoke_json, scan, staff_token
from support import Device

from core.database import db
from licensing.accounts.directory import AccountDirectory
from licensing.wiring import components
from privacy.audit import Access, Actor
from privacy.logging import tessera_handler
from privacy.wiring import audit_service

CLIENT_ADDRESS = "198.51.100.77"
ALICE = {"username": "canary-alice", "email": "Canary.Alice@Example.ORG",
         "name": "Alicia Canaryname", "company": "Canaryworks Ltd",
         "password": "CANARY-PASSWORD-7f3a9c1e2b", "fingerprint": "CANARY-FINGERPRINT-5d41402abc",
         "device_name": "CANARY-LABEL-alicia-laptop"}
BOB = {"username": "canary-bob", "email": "canary.bob@example.net", "name": "Roberto Canaryson",
       "company": "Canary Erased BV", "password": "CANARY-PASSWORD-b0b0b0b0b0",
       "fingerprint": "CANARY-FINGERPRINT-b0bb0bb0bb", "device_name": "CANARY-LABEL-bob-desktop"}


@pytest.fixture
def through_proxy(app_config):
    app_config.update(TESSERA_TRUSTED_PROXIES=1, TESSERA_LOG_FORMAT="json")
    return app_config


def _account(runner, person: dict) -> str:
    invoke_json(runner, "admin", "create-account", person["username"], "--email", person["email"],
                "--password", person["password"], "--name", person["name"],
                "--company", person["company"], "--country", "be")
    return invoke_json(runner, "admin", "issue-license", person["username"], "numflo",
                       "--seats", "3", "--kind", "subscription")["id"]


def _post(client, device: Device, path: str, body: dict):
    return client.post(path, json=body, headers={
        "DPoP": device.proof("POST", path), "X-Forwarded-For": f"203.0.113.1, {CLIENT_ADDRESS}"},
        environ_base={"REMOTE_ADDR": "10.0.0.5"})


def _use_the_service(app, client, runner, person: dict) -> tuple[str, str]:
    license_id = _account(runner, person)
    code = invoke_json(runner, "admin", "issue-code", license_id)["code"]
    device = Device(fingerprint=person["fingerprint"])
    body = device.activation_body(username=person["username"], password=person["password"],
                                  device_name=person["device_name"], platform="linux")
    activated = _post(client, device, "/v1/activations", body)
    assert activated.status_code == 201, activated.json
    seat = activated.json["activation_id"]
    refresh = f"/v1/activations/{seat}/refresh"
    assert _post(client, device, refresh, {"fingerprint": person["fingerprint"]}).status_code == 200
    wrong = Device().activation_body(username=person["username"],
                                     password=person["password"] + "-wrong")
    assert _post(client, Device(), "/v1/activations", wrong).status_code == 401
    coded = Device(fingerprint=person["fingerprint"] + "-second")
    body = coded.activation_body(activation_code=code, device_name=person["device_name"] + "-2")
    assert _post(client, coded, "/v1/activations", body).status_code == 201
    path = f"/v1/activations/{seat}"
    assert client.delete(path, headers={"DPoP": device.proof("DELETE", path)}).status_code == 204
    return code, seat


def test_no_canary_reaches_a_database_file_a_dump_or_the_log(through_proxy, app, client, runner,
                                                             tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    log = io.StringIO()
    tessera_handler().setStream(log)
    invoke_json(runner, "admin", "create-product", "numflo", "NUMFLO")
    codes = [_use_the_service(app, client, runner, person)[0] for person in (ALICE, BOB)]

    # A vault read-back through the look-up service, recorded in the access log.
    with app.app_context():
        directory = AccountDirectory(db.session, components().pseudonymizer)
        access = Access(Actor("staff:1", "support"), "support",
                        f"TICKET-1 {ALICE['email']} called from {CLIENT_ADDRESS}")
        account = directory.lookup_by_email(ALICE["email"].upper(), access, audit_service())
        assert (account.email, account.name, account.company) == (
            ALICE["email"], ALICE["name"], ALICE["company"])
        db.session.commit()
    token = staff_token(app, "privacy")
    answer = client.get(f"/v1/privacy/access-log?subject={ALICE['email']}", headers={
        "Authorization": f"Bearer {token}", "X-Access-Reason": f"DSR for {ALICE['name']}"})
    assert answer.status_code == 200 and len(answer.json["entries"]) == 1

    erased = invoke_json(runner, "privacy", "erase-subject", BOB["username"], "--commit")
    assert erased["committed"]
    invoke_json(runner, "privacy", "purge", "--commit")

    canaries = [CLIENT_ADDRESS, token] + [code for c in codes for code in (c, c.replace("-", ""))]
    for person in (ALICE, BOB):
        canaries += [value for key, value in person.items() if key != "username"]
    canaries.remove(ALICE["name"])  # "Alicia ..." is checked by its parts below
    canaries += ALICE["name"].split() + ["canary-bob"]
    instance = Path(app.config["TESSERA_INSTANCE_DIR"])
    blobs = database_blobs(app, tmp_path)
    blobs.update({f"instance/{p.name}": p.read_bytes() for p in instance.iterdir() if p.is_file()})
    blobs["tessera log"] = log.getvalue().encode()
    blobs["other loggers"] = caplog.text.encode()
    assert json.loads(log.getvalue().splitlines()[0])["request_id"]
    assert not scan(blobs, canaries)

    # The erased subject is gone; the other's email still reads back through the service.
    with app.app_context():
        directory = AccountDirectory(db.session, components().pseudonymizer)
        assert directory.by_email(BOB["email"]) is None
        assert directory.by_email(ALICE["email"]).email == ALICE["email"]
