"""Forged, altered and replayed proofs and leases offered to refresh and deactivate.

Every attack must end in 401 INVALID_PROOF, never a 5xx, and must neither
issue a lease nor free the seat.
"""

from __future__ import annotations

import base64
import json
import secrets
import time

import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from support import Device, b64

from core.database import db

pytestmark = pytest.mark.reliability


def _segment(value: dict) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


def _unsigned(header: dict, claims: dict) -> str:
    return f"{_segment(header)}.{_segment(claims)}."


def _flip(token: str, part: int, byte: int, bit: int) -> str:
    segments = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(segments[part] + "=" * (-len(segments[part]) % 4)))
    raw[byte % len(raw)] ^= 1 << bit
    segments[part] = b64(bytes(raw))
    return ".".join(segments)


class Attack:
    """The victim's activation, its device and the server's lease key, for forging."""

    def __init__(self, device: Device, activation_id: str, lease: str, jwks: dict):
        self.device = device
        self.activation_id = activation_id
        self.lease = lease
        self.server_key = jwks["keys"][0]

    def claims(self, method: str, **extra) -> dict:
        path = f"/v1/activations/{self.activation_id}"
        path += "/refresh" if method == "POST" else ""
        return {"jti": secrets.token_urlsafe(16), "htm": method,
                "htu": "http://localhost" + path, "iat": int(time.time()), **extra}

    def header(self, **extra) -> dict:
        return {"typ": "dpop+jwt", "alg": "EdDSA",
                "jwk": {"kty": "OKP", "crv": "Ed25519", "x": self.device.x}, **extra}

    def signed(self, method: str, header: dict | None = None, key=None, **claims) -> str:
        header = header or self.header()
        return jwt.encode(self.claims(method, **claims), key or self.device.key,
                          algorithm=header["alg"], headers=header)

    def lease_forged(self, **header) -> str:
        claims = jwt.decode(self.lease, options={"verify_signature": False})
        head = {**jwt.get_unverified_header(self.lease), **header}
        if head["alg"] == "none":
            return _unsigned(head, claims)
        secret = base64.urlsafe_b64decode(self.server_key["x"] + "=")
        if head["alg"] == "HS256":
            return jwt.encode(claims, secret, algorithm="HS256", headers=head)
        return jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers=head)


def _hmac_with_public_key(attack: Attack, method: str) -> str:
    secret = base64.urlsafe_b64decode(attack.device.x + "=")
    return jwt.encode(attack.claims(method), secret, algorithm="HS256",
                      headers=attack.header(alg="HS256"))


def _other_key(attack: Attack, method: str) -> str:
    stranger = Device()
    header = {"typ": "dpop+jwt", "alg": "EdDSA",
              "jwk": {"kty": "OKP", "crv": "Ed25519", "x": stranger.x}}
    return attack.signed(method, header, key=stranger.key)


def _victim_jwk_signed_by_stranger(attack: Attack, method: str) -> str:
    return attack.signed(method, key=Ed25519PrivateKey.generate())


def _bit_flips(part: int) -> dict:
    positions = [(0, 0), (3, 1), (10, 2), (17, 5), (31, 7), (40, 3), (63, 6)]
    return {f"bit flip in {['header', 'payload', 'signature'][part]} byte {byte} bit {bit}":
            (lambda a, m, byte=byte, bit=bit: _flip(a.signed(m), part, byte, bit))
            for byte, bit in positions}


ATTACKS = {
    "alg none": lambda a, m: _unsigned(a.header(alg="none"), a.claims(m)),
    "alg None, signature of a real proof kept": lambda a, m: (
        _segment(a.header(alg="None")) + "." + ".".join(a.signed(m).split(".")[1:])),
    "HS256 keyed with the device public key": _hmac_with_public_key,
    "swapped kid (the lease key's)": lambda a, m: a.signed(m, a.header(kid=a.server_key["kid"])),
    "unknown kid": lambda a, m: a.signed(m, a.header(kid="no-such-key")),
    "jku pointing elsewhere": lambda a, m: a.signed(m, a.header(jku="https://evil.test/jwks")),
    "embedded jwk of another key": _other_key,
    "activation's jwk, signed by another key": _victim_jwk_signed_by_stranger,
    "jwk carrying a private part": lambda a, m: a.signed(
        m, {**a.header(), "jwk": {**a.header()["jwk"], "d": a.device.x}}),
    "typ jwt": lambda a, m: a.signed(m, a.header(typ="JWT")),
    "expired": lambda a, m: a.signed(m, exp=int(time.time()) - 3600),
    "nbf in the future": lambda a, m: a.signed(m, nbf=int(time.time()) + 3600),
    "iat in the future": lambda a, m: a.signed(m, iat=int(time.time()) + 3600),
    "stale iat": lambda a, m: a.signed(m, iat=int(time.time()) - 3600),
    "iat not a number": lambda a, m: a.signed(m, iat="now"),
    "no jti": lambda a, m: a.signed(m, jti=""),
    "wrong method": lambda a, m: a.signed(m, htm="GET"),
    "wrong URL": lambda a, m: a.signed(m, htu="http://localhost/v1/activations/act_x/refresh"),
    "the lease itself": lambda a, m: a.lease,
    "lease with alg none": lambda a, m: a.lease_forged(alg="none"),
    "lease as HS256 keyed with the server's public key": lambda a, m: a.lease_forged(
        alg="HS256"),
    "lease with an unknown kid": lambda a, m: a.lease_forged(kid="no-such-key"),
    "lease re-signed under the real kid by another key": lambda a, m: a.lease_forged(),
    "lease re-typed as a proof": lambda a, m: a.lease_forged(typ="dpop+jwt"),
    "empty": lambda a, m: "",
    "garbage": lambda a, m: "not.a.jwt",
    "oversize": lambda a, m: "a" * 5000,
    **_bit_flips(0), **_bit_flips(1), **_bit_flips(2),
}


@pytest.fixture
def attack(app, client, world):
    world.setup(seats=2)
    device = Device()
    response = device.activate(client, **world.credentials())
    assert response.status_code == 201, response.json
    return Attack(device, response.json["activation_id"], response.json["lease"],
                  client.get("/v1/keys").json)


def _seat_state(app, activation_id: str):
    with app.app_context():
        return db.session.execute(sa.text(
            "SELECT released_at, last_refresh_at FROM seats WHERE id = :i"),
            {"i": activation_id}).one()


def _send(client, attack: Attack, method: str, token: str):
    path = f"/v1/activations/{attack.activation_id}"
    if method == "POST":
        return client.post(path + "/refresh", json={}, headers={"DPoP": token})
    return client.delete(path, headers={"DPoP": token})


@pytest.mark.parametrize("method", ["POST", "DELETE"], ids=["refresh", "deactivate"])
def test_every_attack_is_refused_with_401(app, client, attack, method, figures):
    before = _seat_state(app, attack.activation_id)
    outcomes = {}
    for name, forge in ATTACKS.items():
        response = _send(client, attack, method, forge(attack, method))
        outcomes[name] = (response.status_code, (response.json or {}).get("code"))
        assert "lease" not in (response.json or {}), name
    refused = {name for name, outcome in outcomes.items() if outcome == (401, "INVALID_PROOF")}
    figures[f"token attacks[{method}]"] = {
        "attacks": len(ATTACKS), "refused_401": len(refused),
        "server_errors": sum(1 for status, _ in outcomes.values() if status >= 500)}
    assert refused == set(ATTACKS), {k: v for k, v in outcomes.items() if k not in refused}
    assert len(ATTACKS) >= 45
    assert _seat_state(app, attack.activation_id) == before
    # The genuine device is still served after the barrage.
    assert _send(client, attack, method, attack.signed(method)).status_code in (200, 204)


def test_replayed_proof_is_refused_after_a_success(client, attack):
    proof = attack.signed("POST")
    assert _send(client, attack, "POST", proof).status_code == 200
    replay = _send(client, attack, "POST", proof)
    assert (replay.status_code, replay.json["code"]) == (401, "INVALID_PROOF")


def test_a_jti_is_spent_even_in_a_new_proof(client, attack):
    assert _send(client, attack, "POST", attack.signed("POST", jti="reused-jti")).status_code == 200
    again = _send(client, attack, "POST", attack.signed("POST", jti="reused-jti",
                                                        iat=int(time.time()) - 5))
    assert (again.status_code, again.json["code"]) == (401, "INVALID_PROOF")
