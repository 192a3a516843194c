"""Interoperability with other JOSE and HTTP implementations, and strict input rules.

Proofs as panva's `dpop` 2.x makes them (alg "Ed25519", RFC 9864), the
challenges RFC 9449 and RFC 9110 ask of a 401, the RFC 3986 rules for
comparing htu, JSON that Python would accept but no other parser agrees on,
and the caching and transport headers devices and proxies act on.
"""

from __future__ import annotations

import base64
import json
import secrets
import time

import pytest
from support import Device

from core.database import utcnow
from licensing.activation.dpop import MAX_PROOF_LENGTH, normalize_url, verify_proof
from licensing.errors import InvalidProof

PATH = "/v1/activations"
DPOP_ALGS = 'algs="EdDSA Ed25519"'


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def compact(device: Device, header: dict, claims: dict) -> str:
    """A JWS signed with the device key, its header exactly as given (not PyJWT's)."""
    signing_input = ".".join(b64(json.dumps(part).encode()) for part in (header, claims))
    return signing_input + "." + b64(device.key.sign(signing_input.encode("ascii")))


def proof(device: Device, method: str, path: str, alg: str = "EdDSA", **claims) -> str:
    header = {"typ": "dpop+jwt", "alg": alg,
              "jwk": {"kty": "OKP", "crv": "Ed25519", "x": device.x}}
    body = {"jti": secrets.token_urlsafe(16), "htm": method, "htu": device.base_url + path,
            "iat": int(time.time()), **claims}
    return compact(device, header, body)


# JOSE algorithm names


def test_a_proof_with_the_fully_specified_ed25519_name_activates(client, world):
    world.setup()
    device = Device()
    answer = client.post(PATH, json=device.activation_body(**world.credentials()),
                         headers={"DPoP": proof(device, "POST", PATH, alg="Ed25519")})
    assert answer.status_code == 201, answer.json
    refresh = f"/v1/activations/{answer.json['activation_id']}/refresh"
    again = client.post(refresh, json={},
                        headers={"DPoP": proof(device, "POST", refresh, alg="Ed25519")})
    assert again.status_code == 200, again.json
    lease_header = json.loads(base64.urlsafe_b64decode(
        again.json["lease"].split(".")[0] + "=="))
    assert lease_header["alg"] == "EdDSA"


@pytest.mark.parametrize("alg", ["ES256", "ed25519", "none", "HS256"])
def test_other_algorithm_names_are_still_refused(client, alg):
    device = Device()
    answer = client.post(PATH, json={}, headers={"DPoP": proof(device, "POST", PATH, alg=alg)})
    assert (answer.status_code, answer.json["code"]) == (401, "INVALID_PROOF")


# DPoP proof length


def test_a_proof_too_long_is_told_so_not_that_none_was_sent():
    with pytest.raises(InvalidProof) as refused:
        verify_proof("a" * (MAX_PROOF_LENGTH + 1), "POST", "http://localhost/v1/activations",
                     utcnow(), 300)
    assert "required" not in refused.value.message
    assert str(MAX_PROOF_LENGTH) in refused.value.message
    with pytest.raises(InvalidProof) as missing:
        verify_proof(None, "POST", "http://localhost/v1/activations", utcnow(), 300)
    assert missing.value.message == "A DPoP proof is required."


# WWW-Authenticate on every 401


def test_every_401_on_a_dpop_endpoint_carries_the_dpop_challenge(client, world):
    world.setup()
    device = Device()
    missing = client.post(PATH, json=device.activation_body(**world.credentials()))
    bad_password = device.activate(client, username="alice", password="wrong password")
    bad_code = device.activate(client, activation_code="0" * 26)
    refresh = "/v1/activations/act_unknown/refresh"
    foreign = client.post(refresh, json={}, headers={"DPoP": "not-a-proof"})
    for answer in (missing, bad_password, bad_code, foreign):
        assert answer.status_code == 401, answer.json
        challenge = answer.headers["WWW-Authenticate"]
        assert challenge.startswith("DPoP ") and DPOP_ALGS in challenge, challenge
    assert 'error="invalid_dpop_proof"' in foreign.headers["WWW-Authenticate"]
    assert "error=" not in missing.headers["WWW-Authenticate"]


def test_staff_401s_carry_a_bearer_challenge(client):
    path = "/v1/support/activations/act_x/release"
    missing = client.post(path)
    forged = client.post(path, headers={"Authorization": "Bearer tss_forged-token-123"})
    assert missing.status_code == forged.status_code == 401
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="tessera"'
    assert forged.headers["WWW-Authenticate"] == 'Bearer realm="tessera", error="invalid_token"'
    privacy = client.get("/v1/privacy/ropa")
    assert privacy.status_code == 401
    assert privacy.headers["WWW-Authenticate"] == 'Bearer realm="tessera"'


def test_a_failed_customer_sign_in_names_the_bearer_scheme(client, world):
    world.setup()
    wrong = client.post("/v1/session", json={"username": "alice", "password": "wrong pass"})
    assert (wrong.status_code, wrong.json["code"]) == (401, "INVALID_CREDENTIALS")
    assert wrong.headers["WWW-Authenticate"] == 'Bearer realm="tessera"'


# htu comparison (RFC 3986 section 6.2.2)


@pytest.mark.parametrize("htu", [
    "http://localhost/v1%2Factivations",
    "http://localhost/v1/activations%2F..%2Fkeys",
    "http://user:pw@localhost/v1/activations",
    "http://user@localhost/v1/activations",
    "http://localhost:notaport/v1/activations",
])
def test_htu_with_encoded_slashes_userinfo_or_bad_port_is_refused(client, htu):
    device = Device()
    answer = client.post(PATH, json={}, headers={"DPoP": device.proof("POST", PATH, htu=htu)})
    assert (answer.status_code, answer.json["code"]) == (401, "INVALID_PROOF"), answer.json


@pytest.mark.parametrize("equivalent", [
    "HTTP://LocalHost:80/v1/activations",
    "http://localhost/v1/%61ctivations",
    "http://localhost/v1/activations?query#fragment",
])
def test_equivalent_htu_forms_still_match(client, world, equivalent):
    world.setup()
    device = Device()
    answer = client.post(PATH, json=device.activation_body(**world.credentials()),
                         headers={"DPoP": device.proof("POST", PATH, htu=equivalent)})
    assert answer.status_code == 201, answer.json


def test_normal_form_decodes_only_unreserved_characters():
    assert normalize_url("http://h/a%7e%41%2f%2A%20") == "http://h/a~A%2F%2A%20"
    assert normalize_url("http://h/caf\u00e9 x") == "http://h/caf%C3%A9%20x"


# JSON bodies


@pytest.mark.parametrize("raw", [
    b'{"product": NaN}',
    b'{"product": Infinity}',
    b'{"product": -Infinity}',
    b'{"product": "numflo", "product": "other"}',
    b'{"a": {"b": 1, "b": 2}}',
])
def test_json_that_other_parsers_disagree_on_is_malformed(client, raw):
    answer = client.post(PATH, data=raw, content_type="application/json",
                         headers={"DPoP": Device().proof("POST", PATH)})
    assert (answer.status_code, answer.json["code"]) == (400, "MALFORMED_JSON"), answer.json


def test_a_refresh_with_a_duplicate_key_is_malformed(client):
    path = "/v1/activations/act_unknown/refresh"
    answer = client.post(path, data=b'{"client_time": "a", "client_time": "b"}',
                         content_type="application/json",
                         headers={"DPoP": Device().proof("POST", path)})
    assert (answer.status_code, answer.json["code"]) == (400, "MALFORMED_JSON")


# Transport and caching headers


def test_https_behind_a_trusted_proxy_gets_hsts(app_factory):
    proxied = app_factory(TESSERA_TRUSTED_PROXIES=1).test_client()
    secure = proxied.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
    assert int(secure.headers["Strict-Transport-Security"].split("=")[1].split(";")[0]) >= 86400
    assert "Strict-Transport-Security" not in proxied.get("/healthz").headers


def test_an_untrusted_forwarded_proto_gets_no_hsts(client):
    answer = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in answer.headers


def test_the_key_set_may_be_cached_for_the_key_cache_period(app_factory):
    client = app_factory(TESSERA_KEY_CACHE_SECONDS=240).test_client()
    answer = client.get("/v1/keys")
    assert answer.status_code == 200 and answer.json["keys"]
    assert answer.headers["Cache-Control"] == "public, max-age=240"
    assert client.get("/healthz").headers["Cache-Control"] == "no-store"
