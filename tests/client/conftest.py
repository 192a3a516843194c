"""Fixtures for the desktop client: a test signing key, leases minted as the
service mints them, a fake clock, and a stand-in service on ``responses``
that checks every DPoP proof with real signatures."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from email.utils import formatdate
from types import SimpleNamespace
from typing import Any

import jwt
import pytest
import requests
import responses
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tessera_client import LicenseClient

NOW = 1_800_000_000  # 2027-01-15, fixed so tests never depend on the wall clock
PRODUCT = "numflo"
SERVER = "https://tessera.test"
ISSUER = "tessera-test"
MACHINE_ID = "4c4c4544-0042-3510-8052-b4c04f4d4e31"
LEASE_SECONDS = 7 * 86400


def b64url(data: bytes) -> str:
    """Unpadded base64url, written independently of the code under test."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def thumbprint_of(x: str) -> str:
    """RFC 7638 thumbprint of an Ed25519 public key, computed independently."""
    canonical = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"), sort_keys=True
    )
    return b64url(hashlib.sha256(canonical.encode()).digest())


class FakeClock:
    """A settable clock."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Signer:
    """The service's lease-signing key, minting leases exactly as API.md describes."""

    def __init__(self, kid: str = "lease-2027-01") -> None:
        self.kid = kid
        self.key = Ed25519PrivateKey.generate()
        raw = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.public_jwk = {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": b64url(raw),
            "kid": kid,
            "use": "sig",
            "alg": "EdDSA",
        }

    @property
    def jwks(self) -> dict[str, Any]:
        return {"keys": [dict(self.public_jwk)]}

    def claims(self, jkt: str, now: float = NOW, **overrides: Any) -> dict[str, Any]:
        iat = int(now)
        claims = {
            "iss": ISSUER,
            "sub": "act_123",
            "aud": PRODUCT,
            "lic": "lic_456",
            "ent": ["solver", "mesher"],
            "cnf": {"jkt": jkt},
            "iat": iat,
            "nbf": iat,
            "exp": iat + LEASE_SECONDS,
            "rfa": iat + LEASE_SECONDS // 2,
            "lxp": iat + 300 * 86400,
            "jti": f"lease-{iat}",
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not ...}

    def lease(
        self, jkt: str, now: float = NOW, headers: dict[str, Any] | None = None, **overrides: Any
    ) -> str:
        header = {"typ": "lease+jwt", "kid": self.kid, **(headers or {})}
        return jwt.encode(
            self.claims(jkt, now, **overrides), self.key, algorithm="EdDSA", headers=header
        )


class FakeTessera:
    """The desktop endpoints, answering like the service and checking DPoP proofs."""

    def __init__(self, mock: responses.RequestsMock, signer: Signer, clock: FakeClock) -> None:
        self.signer, self.clock = signer, clock
        self.seen_jti: set[str] = set()
        self.proofs: list[dict[str, Any]] = []
        self.bodies: list[dict[str, Any]] = []
        self.bound: dict[str, str] = {}  # activation id -> key thumbprint
        self.released: set[str] = set()
        self.refresh_error: tuple[int, str] | None = None
        self.activation_error: tuple[int, str] | None = None
        self.keys_calls = 0
        self.date_offset = 0  # how far the Date header runs ahead of the service's clock
        self.offline = False  # every request fails to connect
        self.jwks = signer.jwks
        activation = re.compile(re.escape(SERVER) + r"/v1/activations/([^/]+)")
        mock.add_callback(responses.POST, f"{SERVER}/v1/activations", callback=self._activate)
        mock.add_callback(
            responses.POST, re.compile(activation.pattern + "/refresh$"), callback=self._refresh
        )
        mock.add_callback(
            responses.DELETE, re.compile(activation.pattern + "$"), callback=self._delete
        )
        mock.add_callback(responses.GET, f"{SERVER}/v1/keys", callback=self._keys)

    def _answer(self, status: int, body: dict[str, Any] | None) -> tuple[int, dict[str, str], str]:
        headers = {
            "Content-Type": "application/json",
            "Date": formatdate(self.clock.now + self.date_offset, usegmt=True),
        }
        return status, headers, json.dumps(body) if body is not None else ""

    def _error(self, status: int, code: str) -> tuple[int, dict[str, str], str]:
        return self._answer(status, {"code": code, "message": f"{code} for the test", "errors": {}})

    def check_proof(self, request: Any) -> str | None:
        """Verify the DPoP proof like the service; return the key thumbprint or None."""
        if self.offline:
            raise requests.ConnectionError("the network is down")
        proof = request.headers.get("DPoP")
        if not proof:
            return None
        header = jwt.get_unverified_header(proof)
        if header.get("typ") != "dpop+jwt" or header.get("alg") != "EdDSA":
            return None
        x = header["jwk"]["x"]
        key = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(x + "=="))
        claims = jwt.decode(proof, key, algorithms=["EdDSA"], options={"verify_iat": False})
        url = request.url.split("?", 1)[0]
        fresh = abs(claims["iat"] - self.clock.now) <= 300 and claims["jti"] not in self.seen_jti
        self.seen_jti.add(claims["jti"])  # spent whatever the outcome
        self.proofs.append(claims)
        if claims["htm"] != request.method or claims["htu"] != url or not fresh:
            return None
        return thumbprint_of(x)

    def _activate(self, request: Any) -> tuple[int, dict[str, str], str]:
        jkt = self.check_proof(request)
        if jkt is None:
            return self._error(401, "INVALID_PROOF")
        body = json.loads(request.body)
        self.bodies.append(body)
        if self.activation_error:
            return self._error(*self.activation_error)
        self.bound["act_123"] = jkt
        self.released.discard("act_123")
        return self._answer(201, self._lease_body(jkt))

    def _refresh(self, request: Any) -> tuple[int, dict[str, str], str]:
        jkt = self.check_proof(request)
        activation_id = request.url.rsplit("/", 2)[-2]
        if activation_id not in self.bound:
            return self._error(404, "NOT_FOUND")
        if jkt is None or self.bound[activation_id] != jkt:
            return self._error(401, "INVALID_PROOF")
        if activation_id in self.released:
            return self._error(410, "ACTIVATION_RELEASED")
        if self.refresh_error:
            return self._error(*self.refresh_error)
        return self._answer(200, self._lease_body(jkt))

    def _delete(self, request: Any) -> tuple[int, dict[str, str], str]:
        jkt = self.check_proof(request)
        activation_id = request.url.rsplit("/", 1)[-1]
        if activation_id not in self.bound:
            return self._error(404, "NOT_FOUND")
        if jkt is None or self.bound[activation_id] != jkt:
            return self._error(401, "INVALID_PROOF")
        self.released.add(activation_id)
        return self._answer(204, None)

    def _keys(self, request: Any) -> tuple[int, dict[str, str], str]:
        self.keys_calls += 1
        if self.check_proof(request) is None:
            return self._error(401, "INVALID_PROOF")
        return self._answer(200, self.jwks)

    def _lease_body(self, jkt: str) -> dict[str, Any]:
        now = int(self.clock.now)
        return {
            "activation_id": "act_123",
            "license": {
                "id": "lic_456",
                "product": PRODUCT,
                "kind": "subscription",
                "expires_at": "2027-11-24T00:00:00Z",
                "entitlements": ["solver", "mesher"],
                "seats": 2,
                "seats_used": 1,
            },
            "lease": self.signer.lease(jkt, now),
            "lease_expires_at": formatdate(now + LEASE_SECONDS, usegmt=True),
            "refresh_after": formatdate(now + LEASE_SECONDS // 2, usegmt=True),
        }


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def signer() -> Signer:
    return Signer()


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    """Stand-in for the network: any request not registered fails the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def tessera(http: responses.RequestsMock, signer: Signer, clock: FakeClock) -> FakeTessera:
    return FakeTessera(http, signer, clock)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_client(tmp_path, clock, sleeps) -> Iterator[Any]:
    """Build LicenseClients over one state directory; closed after the test."""
    made: list[LicenseClient] = []

    def build(**options: Any) -> LicenseClient:
        options.setdefault("server_url", SERVER)
        options.setdefault("clock", clock)
        options.setdefault("sleep", sleeps.append)
        options.setdefault("machine_id_reader", lambda: MACHINE_ID)
        client = LicenseClient(
            options.pop("product", PRODUCT), options.pop("state_dir", tmp_path / "state"), **options
        )
        made.append(client)
        return client

    yield build
    for client in made:
        client.close()


@pytest.fixture
def kit() -> Any:
    """Constants and independent helpers for the tests (conftest is not importable by name)."""
    return SimpleNamespace(
        NOW=NOW,
        PRODUCT=PRODUCT,
        SERVER=SERVER,
        ISSUER=ISSUER,
        MACHINE_ID=MACHINE_ID,
        LEASE_SECONDS=LEASE_SECONDS,
        b64url=b64url,
        thumbprint_of=thumbprint_of,
        Signer=Signer,
        FakeClock=FakeClock,
    )
