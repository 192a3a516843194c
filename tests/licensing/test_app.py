"""The factory, its settings, operations endpoints and the OpenAPI document."""

from __future__ import annotations

import os
import stat

import pytest

from config.settings import ConfigurationError, load_config


def test_embedded_default_generates_secrets_with_mode_0600(tmp_path):
    config = load_config(environ={"TESSERA_INSTANCE_DIR": str(tmp_path)})
    secrets_file = tmp_path / "secrets.json"
    assert stat.S_IMODE(os.stat(secrets_file).st_mode) == 0o600
    assert config["SQLALCHEMY_DATABASE_URI"].endswith("tessera.sqlite3")
    assert config["SQLALCHEMY_BINDS"]["compliance"].endswith("compliance.sqlite3")
    again = load_config(environ={"TESSERA_INSTANCE_DIR": str(tmp_path)})
    assert again["SECRET_KEY"] == config["SECRET_KEY"]
    assert again["TESSERA_VAULT_KEYS"] == config["TESSERA_VAULT_KEYS"]


def test_production_refuses_to_start_without_secrets_and_databases(tmp_path):
    with pytest.raises(ConfigurationError) as refused:
        load_config(environ={"TESSERA_ENV": "production", "TESSERA_INSTANCE_DIR": str(tmp_path)})
    message = str(refused.value)
    for name in ("TESSERA_SECRET_KEY", "TESSERA_PSEUDONYM_KEYS", "TESSERA_VAULT_KEYS",
                 "TESSERA_DATABASE_URL", "TESSERA_COMPLIANCE_DATABASE_URL"):
        assert name in message
    assert not (tmp_path / "secrets.json").exists()


def test_production_reads_secrets_from_files(tmp_path):
    key = "A" * 43
    (tmp_path / "vault").write_text(f"v2:{key}\n")
    config = load_config(environ={
        "TESSERA_ENV": "production", "TESSERA_SECRET_KEY": "x" * 40,
        "TESSERA_PSEUDONYM_KEYS": f"3:{key},2:{key}", "TESSERA_VAULT_KEYS_FILE": str(tmp_path / "vault"),
        "TESSERA_DATABASE_URL": "postgresql+psycopg://db/tessera",
        "TESSERA_COMPLIANCE_DATABASE_URL": "postgresql+psycopg://db/compliance",
        "TESSERA_REDIS_URL": "redis://redis:6379/0",
        "TESSERA_TOMBSTONE_PATH": str(tmp_path / "shared" / "tombstones.jsonl")})
    assert list(config["TESSERA_VAULT_KEYS"]) == ["v2"]
    assert list(config["TESSERA_PSEUDONYM_KEYS"]) == ["3", "2"]
    assert config["TESSERA_LOG_FORMAT"] == "json"


@pytest.mark.parametrize("value", ["nocolon", "1:short", "1:!!!notbase64!!!"])
def test_bad_keyrings_are_refused(tmp_path, value):
    with pytest.raises(ConfigurationError):
        load_config(environ={"TESSERA_INSTANCE_DIR": str(tmp_path), "TESSERA_SECRET_KEY": "x",
                             "TESSERA_PSEUDONYM_KEYS": value, "TESSERA_VAULT_KEYS": value})


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json["checks"] == {"database": "ok", "compliance_database": "ok",
                                    "vault_keys": "ok", "pseudonym_keys": "ok"}


def test_readyz_is_503_when_a_database_is_down(app_factory):
    broken = app_factory(SQLALCHEMY_BINDS={
        "compliance": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    response = broken.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["compliance_database"] == "unavailable"
    assert response.json["checks"]["database"] == "ok"


def test_openapi_describes_every_desktop_endpoint(client):
    document = client.get("/openapi.json").json
    paths = document["paths"]
    assert set(paths["/v1/activations"]) == {"post"}
    assert {"201", "200", "401", "409"} <= set(paths["/v1/activations"]["post"]["responses"])
    assert "post" in paths["/v1/activations/{activation_id}/refresh"]
    assert "delete" in paths["/v1/activations/{activation_id}"]
    assert "get" in paths["/v1/keys"]
    body = paths["/v1/activations"]["post"]["requestBody"]["content"]["application/json"]
    refs = [option["$ref"] for option in body["schema"].get("oneOf", [body["schema"]])]
    properties = set()
    for ref in refs:
        properties |= set(document["components"]["schemas"][ref.rsplit("/", 1)[-1]]["properties"])
    assert {"product", "fingerprint", "username", "password", "activation_code"} <= set(properties)


def test_responses_carry_request_id_and_nosniff(client):
    response = client.get("/healthz", headers={"X-Request-Id": "abcdef123456"})
    assert response.headers["X-Request-Id"] == "abcdef123456"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert len(client.get("/healthz", headers={"X-Request-Id": "bad id!"})
               .headers["X-Request-Id"]) == 24
