"""Planted secrets never reach the SQLite files or the server log."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import requests
from live import ROOT, live_server, server_env
from support import Device

pytestmark = pytest.mark.slow

CANARY_FINGERPRINT = "CANARY-FINGERPRINT-7f3a9c1e2b"
CANARY_PASSWORD = "CANARY-PASSWORD-d41d8cd98f"
CANARY_COMPONENTS = {"machine_id": "CANARY-MACHINE-5e0b2a", "disk": "CANARY-DISK-93c1d7",
                     "mac": "CANARY-MAC-0a1b2c", "cpu": "CANARY-CPU-7d6e5f",
                     "board": "CANARY-BOARD-4b3a21"}


def flask(env, *args) -> str:
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT,
                            env=env, capture_output=True, text=True, check=True)
    return result.stdout


def test_canaries_absent_from_databases_and_log(tmp_path):
    instance = tmp_path / "instance"
    env = server_env({"default": f"sqlite:///{instance / 'tessera.sqlite3'}",
                      "compliance": f"sqlite:///{instance / 'compliance.sqlite3'}"}, instance)
    flask(env, "db", "upgrade")
    flask(env, "admin", "create-product", "numflo", "NUMFLO", "--fingerprint-match", "most")
    flask(env, "admin", "create-account", "canary-user", "--email", "canary@example.com",
          "--password", CANARY_PASSWORD)
    license_id = json.loads(flask(env, "admin", "issue-license", "canary-user", "numflo",
                                  "--seats", "2", "--kind", "subscription", "--json"))["id"]
    code = json.loads(flask(env, "admin", "issue-code", license_id, "--json"))["code"]

    log_path = tmp_path / "server.log"
    with live_server(env, workers=2, log_path=log_path) as base_url:
        device = Device(fingerprint=CANARY_FINGERPRINT, base_url=base_url)
        by_password = _post(base_url, device, {"username": "canary-user",
                                               "password": CANARY_PASSWORD,
                                               "components": CANARY_COMPONENTS})
        assert by_password.status_code == 201
        # A new fingerprint kept by its components: matched, and stored again, as HMACs.
        moved = Device(fingerprint=CANARY_FINGERPRINT + "-moved", base_url=base_url)
        kept = _post(base_url, moved, {"username": "canary-user", "password": CANARY_PASSWORD,
                                       "components": dict(CANARY_COMPONENTS, disk="CANARY-DISK-2")})
        assert kept.status_code == 200
        device = Device(fingerprint=CANARY_FINGERPRINT, base_url=base_url)
        device.key = moved.key
        wrong = _post(base_url, Device(base_url=base_url),
                      {"username": "canary-user", "password": CANARY_PASSWORD + "x"})
        assert wrong.status_code == 401
        coded = Device(fingerprint=CANARY_FINGERPRINT + "-2", base_url=base_url)
        assert _post(base_url, coded, {"activation_code": code}).status_code == 201
        activation_id = by_password.json()["activation_id"]
        path = f"/v1/activations/{activation_id}/refresh"
        assert requests.post(base_url + path, json={},
                             headers={"DPoP": device.proof("POST", path)}).status_code == 200
        path = f"/v1/activations/{activation_id}"
        assert requests.delete(base_url + path,
                               headers={"DPoP": device.proof("DELETE", path)}).status_code == 204

    canaries = [CANARY_FINGERPRINT, CANARY_PASSWORD, code, code.replace("-", ""),
                "canary@example.com", "CANARY-DISK-2", *CANARY_COMPONENTS.values()]
    files = sorted(p for p in instance.iterdir() if "sqlite3" in p.name) + [log_path]
    assert any(p.name == "tessera.sqlite3" for p in files)
    for path in files:
        content = path.read_bytes()
        for canary in canaries:
            assert canary.encode() not in content, f"{canary!r} found in {path.name}"
            assert canary.lower().encode() not in content.lower(), f"{canary!r} in {path.name}"


def _post(base_url: str, device: Device, credentials: dict):
    return requests.post(base_url + "/v1/activations",
                         json=device.activation_body(**credentials),
                         headers={"DPoP": device.proof("POST", "/v1/activations")}, timeout=30)
