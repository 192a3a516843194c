"""Secrets hygiene: password hashing parameters, no secret in a log line,
security headers on every answer, and session cookies in production."""

from __future__ import annotations

import argon2
import pytest
import sqlalchemy as sa
from conftest import make_config
from flask import session
from support import Device

from config.settings import PASSWORD_HASH_PRODUCTION, load_config
from core.database import db
from core.http import CONTENT_SECURITY_POLICY
from licensing.accounts.passwords import PasswordService

pytestmark = pytest.mark.reliability

# OWASP ASVS 2.4.1 / Password Storage Cheat Sheet: argon2id, 19 MiB, t=2, p=1 at least.
FLOOR = {"memory_cost": 19456, "time_cost": 2, "parallelism": 1}


def _parameters(encoded: str) -> argon2.Parameters:
    return argon2.extract_parameters(encoded)


def _at_least_the_floor(parameters: argon2.Parameters) -> bool:
    return (parameters.type is argon2.Type.ID
            and all(getattr(parameters, name) >= value for name, value in FLOOR.items()))


def test_production_hashes_are_argon2id_above_the_owasp_floor():
    parameters = _parameters(PasswordService(**PASSWORD_HASH_PRODUCTION).hash("a password"))
    assert (parameters.type, parameters.memory_cost, parameters.time_cost,
            parameters.parallelism, parameters.salt_len) == (argon2.Type.ID, 65536, 3, 4, 16)
    assert _at_least_the_floor(parameters)


def test_stored_hashes_use_the_profile_parameters_and_are_upgraded(app, world):
    world.setup()
    with app.app_context():
        stored = db.session.scalar(sa.text("SELECT password_hash FROM accounts"))
    assert stored.startswith("$argon2id$")
    assert _at_least_the_floor(_parameters(stored))
    # A hash made at the testing floor is rehashed by production on next sign-in.
    assert PasswordService(**PASSWORD_HASH_PRODUCTION).needs_rehash(stored)


def _flow_with_canaries(client, world, canary) -> None:
    license_id = world.setup(seats=5)
    code = canary(world.code(license_id))
    password = canary(world.password)
    wrong = canary("wrong-" + password)
    device = Device(fingerprint=canary("CANARY-FP-" + "9" * 24))
    assert device.activate(client, username="alice", password=wrong).status_code == 401
    response = device.activate(client, username="alice", password=password,
                               device_name=canary("CANARY-DEVICE-NAME"))
    assert response.status_code == 201
    refused = client.post("/v1/session", json={"username": "alice", "password": wrong})
    assert refused.status_code == 401
    token = canary(client.post("/v1/session", json={"username": "alice",
                                                    "password": password}).json["token"])
    exported = client.get("/v1/me/data", headers={"Authorization": f"Bearer {token}"})
    assert exported.status_code == 200
    canary(response.json["lease"])
    proof = canary(device.proof("POST", f"/v1/activations/{response.json['activation_id']}"
                                        "/refresh", jti="CANARY-JTI-0123456789"))
    refreshed = client.post(f"/v1/activations/{response.json['activation_id']}/refresh",
                            json={}, headers={"DPoP": proof})
    assert refreshed.status_code == 200
    other = Device(fingerprint=canary("CANARY-FP-" + "8" * 24))
    assert other.activate(client, activation_code=code).status_code == 201
    assert other.activate(client, activation_code=code + "0").status_code in (400, 401)


def test_planted_secrets_stay_out_of_the_log(app, client, world, canary, app_factory, tmp_path,
                                             run_log):
    start = run_log.stat().st_size
    _flow_with_canaries(client, world, canary)
    # Failure paths log on purpose: the database gone, the rate-limit store gone.
    no_database = app_factory(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/db.sqlite3")
    no_redis = app_factory(TESSERA_RATELIMIT_STORAGE_URI="redis://127.0.0.1:9/0")
    for broken, status in ((no_database, 503), (no_redis, 401)):
        device = Device(fingerprint=canary("CANARY-FP-" + "7" * 24))
        response = device.activate(broken.test_client(), username="alice",
                                   password=canary("CANARY-PASSWORD-WHILE-DOWN"))
        assert response.status_code == status
    with run_log.open(encoding="utf-8") as log:
        log.seek(start)
        written = log.read()
    assert "database unavailable" in written and "rate-limit storage unavailable" in written
    leaked = sorted(c for c in canary.planted if len(c) >= 12 and c in written)
    assert leaked == []


@pytest.mark.parametrize("path, method, status", [
    ("/openapi.json", "GET", 200), ("/healthz", "GET", 200), ("/v1/keys", "GET", 200),
    ("/no/such/page", "GET", 404), ("/v1/keys", "DELETE", 405),
    ("/v1/activations", "POST", 415), ("/v1/activations/act_x", "DELETE", 401),
    ("/v1/session", "POST", 415), ("/v1/me/data", "GET", 401)])
def test_security_headers_on_every_kind_of_answer(client, path, method, status):
    response = client.open(path, method=method, data="x" if method == "POST" else None,
                           content_type="text/plain" if method == "POST" else None)
    assert response.status_code == status
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def _production_environ(tmp_path) -> dict:
    return {"TESSERA_ENV": "production", "TESSERA_SECRET_KEY": "s" * 48,
            "TESSERA_PSEUDONYM_KEYS": "1:" + "A" * 43, "TESSERA_VAULT_KEYS": "v1:" + "B" * 42 + "A",
            "TESSERA_DATABASE_URL": f"sqlite:///{tmp_path}/a.sqlite3",
            "TESSERA_COMPLIANCE_DATABASE_URL": f"sqlite:///{tmp_path}/b.sqlite3"}


def test_production_cookies_are_secure_httponly_samesite(tmp_path, monkeypatch, migrated):
    for name, value in _production_environ(tmp_path).items():
        monkeypatch.setenv(name, value)
    config = load_config()
    assert (config["SESSION_COOKIE_SECURE"], config["SESSION_COOKIE_HTTPONLY"],
            config["SESSION_COOKIE_SAMESITE"]) == (True, True, "Lax")
    from licensing import create_app
    production = create_app(make_config(migrated, tmp_path, TESSERA_ENV="production",
                                        SESSION_COOKIE_SECURE=config["SESSION_COOKIE_SECURE"]))

    @production.route("/remember")
    def remember():
        session["seen"] = True
        return {}

    cookie = production.test_client().get("/remember").headers["Set-Cookie"]
    assert "; Secure" in cookie and "; HttpOnly" in cookie and "SameSite=Lax" in cookie
    with production.app_context():
        for engine in db.engines.values():
            engine.dispose()


def test_embedded_cookies_are_httponly_but_work_over_plain_http(tmp_path):
    config = load_config(environ={"TESSERA_INSTANCE_DIR": str(tmp_path)})
    assert (config["SESSION_COOKIE_SECURE"], config["SESSION_COOKIE_HTTPONLY"],
            config["SESSION_COOKIE_SAMESITE"]) == (False, True, "Lax")
