"""Hostile input: oversize, mistyped, deeply nested, ill-encoded, huge headers,
unknown fields, and SQL- or script-looking text in every field.

Every answer is a clear 4xx in the one error shape (or a success that stores
the text exactly as sent), never a 5xx, and the stored data stays intact.
"""

from __future__ import annotations

import json

import pytest
import requests
import sqlalchemy as sa
from live import live_server, server_env
from support import Device

from core.database import db
from licensing.activation.models import Seat

pytestmark = pytest.mark.reliability

PATH = "/v1/activations"
HOSTILE = [
    "' OR '1'='1",
    "'; DROP TABLE seats; --",
    "\" OR 1=1 --",
    "1; SELECT pg_sleep(10)",
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "{{7*7}}${7*7}",
    "../../etc/passwd",
]
TEXT_FIELDS = ["product", "fingerprint", "device_name", "platform", "username", "password"]


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.json == {"code": code, "message": response.json["message"],
                             "errors": response.json["errors"]}
    assert response.json["code"] == code


def post_raw(client, data: bytes, content_type: str = "application/json", path: str = PATH):
    device = Device()
    return client.post(path, data=data, content_type=content_type,
                       headers={"DPoP": device.proof("POST", path)})


def _fill(value: str, field: str) -> str:
    # Keep within each field's length rules so the hostile text reaches the service.
    if field == "fingerprint":
        return (value + "-" * 16)[:512]
    if field == "platform":
        return value[:32]
    return value[:64]


@pytest.fixture
def seeded(app, world, client):
    """A license with one activation, to check that nothing hostile disturbs it."""
    license_id = world.setup(seats=50)
    device = Device()
    first = device.activate(client, **world.credentials(), device_name="Office PC")
    assert first.status_code == 201
    return license_id, first.json["activation_id"]


def _snapshot(app):
    with app.app_context():
        rows = db.session.execute(sa.text(
            "SELECT id, license_id, device_name, platform, released_at FROM seats ORDER BY id"))
        accounts = db.session.scalar(sa.text("SELECT count(*) FROM accounts"))
        return [tuple(row) for row in rows], accounts


@pytest.mark.parametrize("path", [PATH, "/v1/activations/act_x/refresh"])
def test_oversize_body_is_413(client, path):
    body = json.dumps({"product": "numflo", "fingerprint": "f" * (70 * 1024)}).encode()
    assert_error(post_raw(client, body, path=path), 413, "PAYLOAD_TOO_LARGE")


@pytest.mark.parametrize("content_type", [
    "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
    "application/xml", "application/jsonx", "text/json", "application/json-patch+json"])
def test_wrong_content_types_are_415(client, content_type):
    assert_error(post_raw(client, b"{}", content_type), 415, "UNSUPPORTED_MEDIA_TYPE")


def test_json_with_a_charset_is_json(client):
    response = post_raw(client, b"{}", "application/json; charset=utf-8")
    assert_error(response, 400, "VALIDATION_FAILED")


@pytest.mark.parametrize("raw", [
    b"[" * 30_000 + b"]" * 30_000,
    b'{"a":' * 5000 + b"1" + b"}" * 5000,
    b'{"product": "\xc3\x28"}',
    b'{"product": "\xed\xa0\x80"}',
    b'\xef\xbb\xbf{"product": "numflo"}',
    b'{"product": "\\ud800", "fingerprint": "x"}',
    b'{"device_name": "\\udfff"}',
    b"{'product': 1}",
    b'{"product": NaN}' * 2,
    b"",
    b"null",
    b'"string"',
], ids=["deep-array", "deep-object", "invalid-utf8", "encoded-surrogate", "bom",
        "escaped-lone-surrogate", "escaped-low-surrogate", "single-quotes", "two-values",
        "empty", "null", "not-an-object"])
def test_malformed_bodies_are_400(client, raw):
    assert_error(post_raw(client, raw), 400, "MALFORMED_JSON")


def test_unknown_fields_are_refused_on_refresh(client, seeded):
    response = post_raw(client, b'{"client_time": "2026-01-01T00:00:00Z", "lease": "x"}',
                        path=f"/v1/activations/{seeded[1]}/refresh")
    assert_error(response, 400, "VALIDATION_FAILED")
    assert "lease" in response.json["errors"]


@pytest.mark.parametrize("field", TEXT_FIELDS + ["activation_code"])
def test_nul_characters_are_refused_in_every_field(client, world, field):
    world.setup()
    device = Device()
    body = device.activation_body(**({"activation_code": "A" * 30} if field == "activation_code"
                                     else world.credentials()))
    body[field] = _fill("abc\u0000def", field)
    response = client.post(PATH, json=body, headers={"DPoP": device.proof("POST", PATH)})
    assert_error(response, 400, "VALIDATION_FAILED")
    assert field in response.json["errors"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_text_in_every_field_is_inert(app, client, world, seeded, value):
    before = _snapshot(app)
    for field in TEXT_FIELDS:
        device = Device()
        body = device.activation_body(**world.credentials())
        body[field] = _fill(value, field)
        response = client.post(PATH, json=body, headers={"DPoP": device.proof("POST", PATH)})
        assert response.status_code in (201, 401, 404), (field, response.json)
        assert response.mimetype == "application/json"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        if field in ("device_name", "platform", "fingerprint"):
            assert response.status_code == 201
            _assert_stored_verbatim(app, response.json["activation_id"], field, body[field])
        elif field == "product":
            assert_error(response, 404, "NO_LICENSE_FOR_PRODUCT")
        else:
            assert_error(response, 401, "INVALID_CREDENTIALS")
    after = _snapshot(app)
    assert after[1] == before[1]
    assert set(before[0]) <= set(after[0])


def _assert_stored_verbatim(app, activation_id: str, field: str, value: str):
    if field == "fingerprint":
        return  # stored only as a keyed pseudonym, by design
    with app.app_context():
        seat = db.session.get(Seat, activation_id)
        assert getattr(seat, field) == value  # device_name decrypted from the vault


@pytest.mark.parametrize("value", HOSTILE + ["a" * 3000, "act_\u0000x", "act_%00"])
def test_hostile_activation_ids_are_refused(client, value):
    device = Device()
    path = "/v1/activations/" + requests.utils.quote(value, safe="")
    for method, target in (("POST", path + "/refresh"), ("DELETE", path)):
        response = client.open(target, method=method, json={} if method == "POST" else None,
                               headers={"DPoP": device.proof(method, target)})
        # Unknown (404), or a proof that cannot name such a URL (401): never more.
        assert (response.status_code, response.json["code"]) in (
            (404, "NOT_FOUND"), (401, "INVALID_PROOF")), response.get_data(as_text=True)


def test_hostile_activation_code_is_401(client, world):
    world.setup()
    for value in HOSTILE:
        device = Device()
        response = client.post(PATH, json=device.activation_body(activation_code=value),
                               headers={"DPoP": device.proof("POST", PATH)})
        assert_error(response, 401, "INVALID_ACTIVATION_CODE")


def test_unknown_routes_do_not_reflect_markup(client):
    response = client.get("/<script>alert(1)</script>")
    assert_error(response, 404, "NOT_FOUND")
    assert "<script>" not in response.get_data(as_text=True)
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_an_odd_request_id_is_not_echoed(client):
    response = client.get("/healthz", headers={"X-Request-Id": "<script>" + "a" * 10_000})
    assert response.status_code == 200
    assert "<" not in response.headers["X-Request-Id"]
    assert len(response.headers["X-Request-Id"]) <= 64


@pytest.mark.slow
def test_huge_headers_and_streamed_bodies_on_a_live_server(app, migrated, tmp_path):
    env = server_env(migrated, tmp_path / "instance")
    with live_server(env, workers=1, log_path=tmp_path / "server.log") as base_url:
        device = Device(base_url=base_url)
        url = base_url + PATH

        def proof():
            return device.proof("POST", PATH)

        huge = requests.post(url, json={}, headers={"DPoP": proof(), "X-Filler": "a" * 70_000})
        assert 400 <= huge.status_code < 500
        many = {f"X-Filler-{n}": "a" for n in range(150)}
        crowded = requests.post(url, json={}, headers={"DPoP": proof(), **many})
        assert 400 <= crowded.status_code < 500
        long_proof = requests.post(url, json={}, headers={"DPoP": "a" * 6000})
        assert (long_proof.status_code, long_proof.json()["code"]) == (401, "INVALID_PROOF")

        def chunks():
            yield b'{"product": "'
            for _ in range(100):
                yield b"x" * 1024
            yield b'"}'

        streamed = requests.post(url, data=chunks(), headers={
            "DPoP": proof(), "Content-Type": "application/json"})
        assert (streamed.status_code, streamed.json()["code"]) == (413, "PAYLOAD_TOO_LARGE")
        assert requests.get(base_url + "/healthz").status_code == 200
    assert "Traceback" not in (tmp_path / "server.log").read_text(errors="replace")
