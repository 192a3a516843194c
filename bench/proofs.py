"""Pre-generated requests, each with a fresh DPoP proof, in files wrk's Lua reads.

A proof's jti is single use and its iat must be within 300 s of the server's
clock, so files are written just before each load phase. One file per wrk
thread, so no two threads ever send the same proof. Proofs are signed with
`cryptography` directly: PyJWT would cost several times the signature itself.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.common import PRODUCT, b64
from bench.seed import Device

_COMPACT = (",", ":")


class ProofMaker:
    """Sign DPoP proofs for devices, caching each device's encoded header."""

    def __init__(self, base_url: str):
        self._base_url = base_url.rstrip("/")
        self._headers: dict[str, str] = {}

    def proof(self, key: Ed25519PrivateKey, x: str, method: str, path: str, iat: int) -> str:
        header = self._headers.get(x)
        if header is None:
            header = b64(json.dumps({"typ": "dpop+jwt", "alg": "EdDSA",
                                     "jwk": {"kty": "OKP", "crv": "Ed25519", "x": x}},
                                    separators=_COMPACT).encode())
            self._headers[x] = header
        claims = {"jti": secrets.token_urlsafe(16), "htm": method,
                  "htu": self._base_url + path, "iat": iat}
        signing_input = header + "." + b64(json.dumps(claims, separators=_COMPACT).encode())
        return signing_input + "." + b64(key.sign(signing_input.encode("ascii")))


def _write(prefix: Path, threads: int, lines) -> int:
    files = [open(f"{prefix}.{n}", "w", encoding="ascii") for n in range(threads)]
    count = 0
    try:
        for count, line in enumerate(lines, 1):
            files[count % threads].write(line + "\n")
    finally:
        for handle in files:
            handle.close()
    return count


def refresh_requests(prefix: Path, base_url: str, devices: list[Device], count: int,
                     threads: int) -> int:
    """COUNT refreshes, round robin over DEVICES."""
    maker, iat = ProofMaker(base_url), int(time.time())

    def lines():
        for n in range(count):
            device = devices[n % len(devices)]
            path = f"/v1/activations/{device.seat_id}/refresh"
            yield f"POST\t{path}\t{maker.proof(device.key, device.x, 'POST', path, iat)}\t{{}}"
    return _write(prefix, threads, lines())


def activation_requests(prefix: Path, base_url: str, credentials: list[dict],
                        threads: int) -> int:
    """One activation per CREDENTIALS entry (a code, or a username and password)."""
    maker, iat, path = ProofMaker(base_url), int(time.time()), "/v1/activations"
    keys = [Ed25519PrivateKey.generate() for _ in range(64)]
    xs = [b64(k.public_key().public_bytes_raw()) for k in keys]

    def lines():
        for n, credential in enumerate(credentials):
            body = json.dumps({"product": PRODUCT, "fingerprint": "bench-" + secrets.token_hex(16),
                               "device_name": "bench workstation", "platform": "linux",
                               **credential}, separators=_COMPACT)
            proof = maker.proof(keys[n % 64], xs[n % 64], "POST", path, iat)
            yield f"POST\t{path}\t{proof}\t{body}"
    return _write(prefix, threads, lines())


def foreign_key_requests(prefix: Path, base_url: str, devices: list[Device], count: int,
                         threads: int, target: Device, every: int) -> int:
    """COUNT refreshes as refresh_requests, but every EVERY-th one refreshes TARGET's seat
    with a proof made by another key (a copied activation id): 401 and a compliance record."""
    maker, iat = ProofMaker(base_url), int(time.time())
    stranger = Ed25519PrivateKey.generate()
    stranger_x = b64(stranger.public_key().public_bytes_raw())
    foreign = f"/v1/activations/{target.seat_id}/refresh"

    def lines():
        for n in range(count):
            if n % every == every - 1:
                yield f"POST\t{foreign}\t{maker.proof(stranger, stranger_x, 'POST', foreign, iat)}\t{{}}"
                continue
            device = devices[n % len(devices)]
            path = f"/v1/activations/{device.seat_id}/refresh"
            yield f"POST\t{path}\t{maker.proof(device.key, device.x, 'POST', path, iat)}\t{{}}"
    return _write(prefix, threads, lines())
