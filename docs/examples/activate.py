"""Walk through the desktop protocol against a running Tessera (see README).

Usage: .venv/bin/python docs/examples/activate.py [BASE_URL] USERNAME PASSWORD
"""

import base64
import secrets
import sys
import time

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

BASE = sys.argv[1] if len(sys.argv) == 4 else "http://127.0.0.1:8000"
USERNAME, PASSWORD = sys.argv[-2], sys.argv[-1]


def b64(raw):
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class Device:
    def __init__(self, name):
        self.fingerprint = f"demo-{name}-" + secrets.token_hex(8)
        self.key = Ed25519PrivateKey.generate()
        raw = self.key.public_key().public_bytes(serialization.Encoding.Raw,
                                                 serialization.PublicFormat.Raw)
        self.jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64(raw)}

    def proof(self, method, path):
        claims = {"jti": secrets.token_urlsafe(16), "htm": method, "htu": BASE + path,
                  "iat": int(time.time())}
        return jwt.encode(claims, self.key, algorithm="EdDSA",
                          headers={"typ": "dpop+jwt", "jwk": self.jwk})

    def call(self, method, path, body=None, proof=None):
        headers = {"DPoP": proof or self.proof(method, path)}
        return requests.request(method, BASE + path, json=body, headers=headers, timeout=30)

    def activate(self):
        return self.call("POST", "/v1/activations", {
            "product": "numflo", "fingerprint": self.fingerprint,
            "username": USERNAME, "password": PASSWORD})


def thumbprint(jwk):
    import hashlib
    import json
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x")}, separators=(",", ":"))
    return b64(hashlib.sha256(canonical.encode()).digest())


def show(label, answer):
    """Print an answer's status, and its error code when it is refused."""
    body = answer.json() if answer.content else {}
    print(label, answer.status_code, body.get("code", ""), body.get("message", ""))
    return answer.ok


def walk(a, b, c):
    """The protocol on a license with two seats; returns the (device, seat id) still held,
    or None when A got no seat."""
    first = a.activate()
    if not show("A activates:", first):
        print("A got no seat, so the walk stops here (a 409: the license's seats are in use; "
              "release one in the Customer Area, or issue a license with two free seats).")
        return None
    activation_id = first.json()["activation_id"]
    taken = []
    second = b.activate()
    if show("B activates:", second):
        taken.append((b, second.json()["activation_id"]))
    show("C activates (the license has two seats):", c.activate())
    again = a.activate()
    print("A again:", again.status_code, "same id:",
          again.json()["activation_id"] == activation_id)

    lease = again.json()["lease"]
    keys = requests.get(BASE + "/v1/keys", timeout=10).json()["keys"]
    kid = jwt.get_unverified_header(lease)["kid"]
    key = jwt.PyJWK(next(k for k in keys if k["kid"] == kid)).key
    claims = jwt.decode(lease, key, algorithms=["EdDSA"], audience="numflo")
    print("lease verifies against /v1/keys; cnf.jkt is A's key:",
          claims["cnf"]["jkt"] == thumbprint(a.jwk))

    time.sleep(1.1)
    path = f"/v1/activations/{activation_id}/refresh"
    refreshed = a.call("POST", path, {})
    later = jwt.decode(refreshed.json()["lease"], key, algorithms=["EdDSA"], audience="numflo")
    print("A refreshes:", refreshed.status_code, "later lease:", later["exp"] > claims["exp"])
    print("refresh signed by C's key:", c.call("POST", path, {}).json()["code"])
    proof = a.proof("POST", path)
    a.call("POST", path, {}, proof=proof)
    print("replayed proof:", a.call("POST", path, {}, proof=proof).json()["code"])
    print("A deactivates:", a.call("DELETE", f"/v1/activations/{activation_id}").status_code)
    third = c.activate()
    if show("C activates:", third):
        taken.append((c, third.json()["activation_id"]))
    gone = a.call("POST", path, {})
    print("A refreshes:", gone.status_code, gone.json()["code"])
    return taken


a, b, c = Device("a"), Device("b"), Device("c")
held = walk(a, b, c)
# Give the seats back, so the walk can run again on the same license.
for device, seat in held or []:
    device.call("DELETE", f"/v1/activations/{seat}")
sys.exit(1 if held is None else 0)
