"""Vault rotation cannot take the service down: instances report their key ids, an
instance lacking a key the data needs is not ready (503), and rotate-vault refuses
until every running instance holds the keys it writes with."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import pytest

from core.database import db
from licensing.admin.services import AdminService
from licensing.wiring import components
from live import ROOT, live_server, server_env
from support import Device

V1 = b"1" * 32
V2 = b"2" * 32
PASSWORD = "a long enough passphrase"


def _text(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode().rstrip("=")


def _seed(app) -> None:
    """A product, an account and a license, written by APP (under its current keys)."""
    with app.app_context():
        parts = components()
        service = AdminService(db.session, parts.pseudonymizer, parts.passwords)
        service.create_product("numflo", "NUMFLO")
        service.create_account("alice", PASSWORD, "alice@example.com", name="Alice")
        service.issue_license("alice", "numflo", seats=2, kind="subscription")
        db.session.commit()


def test_readyz_lists_the_key_ids_it_holds_and_nothing_more(app, client):
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json["keys"] == {"vault": list(app.config["TESSERA_VAULT_KEYS"]),
                                  "pseudonym": list(app.config["TESSERA_PSEUDONYM_KEYS"])}
    body = ready.get_data(as_text=True)
    for key in app.config["TESSERA_VAULT_KEYS"].values():
        assert _text(key) not in body


def test_an_instance_lacking_a_key_in_use_is_not_ready_and_answers_503(app_config, app_factory):
    app_config["TESSERA_VAULT_KEYS"] = {"v1": V1}
    behind = app_factory()
    ahead = app_factory(TESSERA_VAULT_KEYS={"v2": V2, "v1": V1})
    _seed(ahead)

    assert ahead.test_client().get("/readyz").status_code == 200
    ready = behind.test_client().get("/readyz")
    assert ready.status_code == 503, ready.json
    assert ready.json["checks"]["vault_keys"] == "missing v2"
    assert ready.json["checks"]["database"] == "ok"
    assert ready.json["keys"]["vault"] == ["v1"]

    # A request that reads the sealed row is a 503 the client may retry, not a 500.
    answer = Device().activate(behind.test_client(), username="alice", password=PASSWORD)
    assert (answer.status_code, answer.json["code"]) == (503, "UNAVAILABLE")
    assert "v2" not in answer.get_data(as_text=True)


def test_a_pseudonym_version_the_instance_lacks_makes_it_not_ready(app_config, app_factory):
    app_config["TESSERA_PSEUDONYM_KEYS"] = {"1": V1}
    behind = app_factory()
    _seed(app_factory(TESSERA_PSEUDONYM_KEYS={"2": V2, "1": V1}))
    ready = behind.test_client().get("/readyz")
    assert ready.status_code == 503 and ready.json["checks"]["pseudonym_keys"] == "missing 2"


def _flask(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def test_rotate_vault_needs_the_instances_named_or_declared_stopped(app, migrated, tmp_path):
    env = server_env(migrated, tmp_path / "instance")
    result = _flask(env, "keys", "rotate-vault", "--json")
    assert result.returncode == 1
    assert "--check-url" in json.loads(result.stdout)["error"]["message"]


@pytest.mark.slow
def test_rotate_vault_refuses_until_the_running_instance_holds_the_new_key(app, migrated,
                                                                           tmp_path):
    env = server_env(migrated, tmp_path / "instance")
    with live_server(env, workers=1, log_path=tmp_path / "before.log") as url:
        added = _flask(env, "keys", "add-key", "vault", "--json")
        assert added.returncode == 0, added.stderr
        assert json.loads(added.stdout)["key_id"] == "v2"
        refused = _flask(env, "keys", "rotate-vault", "--check-url", url, "--json")
        assert refused.returncode == 1, refused.stdout
        error = json.loads(refused.stdout)["error"]
        assert error["code"] == "KEY_NOT_DEPLOYED" and "vault key v2" in error["message"]
        assert url in refused.stderr
    with live_server(env, workers=1, log_path=tmp_path / "after.log") as url:
        done = _flask(env, "keys", "rotate-vault", "--check-url", url, "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["vault_key"] == "v2"


def test_rotate_vault_refuses_an_instance_that_does_not_answer(app, migrated, tmp_path):
    env = server_env(migrated, tmp_path / "instance")
    result = _flask(env, "keys", "rotate-vault", "--check-url", "http://127.0.0.1:9", "--json")
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"]["code"] == "UNAVAILABLE"
    assert os.path.exists(tmp_path / "instance" / "secrets.json")
