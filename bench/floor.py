"""The floor: a bare Flask endpoint doing only a refresh's irreducible work.

One primary-key read, one update, one Ed25519 signature, JSON out, on the same
database and gunicorn settings as the service. Tessera's refresh throughput
is reported as a fraction of this one's. Run: gunicorn -c config/gunicorn.conf.py
bench.floor:app (TESSERA_DATABASE_URL names the database).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask, abort, jsonify

from bench.common import b64

URL = os.environ["TESSERA_DATABASE_URL"]
_SQLITE = URL.startswith("sqlite")
engine = sa.create_engine(URL, connect_args={"timeout": 15} if _SQLITE else {})
if _SQLITE:
    # The same locking discipline as the service: WAL, and the write lock taken at BEGIN.
    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA busy_timeout=15000")

    @sa.event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")

READ = sa.text("SELECT license_id, device_jkt, released_at FROM seats WHERE id = :id")
WRITE = sa.text("UPDATE seats SET last_refresh_at = :now WHERE id = :id").bindparams(
    sa.bindparam("now", type_=sa.DateTime(timezone=True)))
KEY = Ed25519PrivateKey.generate()
HEADER = b64(json.dumps({"alg": "EdDSA", "typ": "lease+jwt", "kid": "floor"}).encode())

app = Flask(__name__)


@app.post("/v1/activations/<activation_id>/refresh")
def refresh(activation_id: str):
    """Read the seat, stamp it, sign a lease."""
    now = datetime.now(timezone.utc)
    with engine.begin() as connection:
        row = connection.execute(READ, {"id": activation_id}).first()
        if row is None:
            abort(404)
        connection.execute(WRITE, {"id": activation_id, "now": now})
    issued = int(time.time())
    claims = {"sub": activation_id, "lic": row.license_id, "cnf": {"jkt": row.device_jkt},
              "iat": issued, "exp": issued + 7 * 86400, "jti": secrets.token_urlsafe(16)}
    signing_input = HEADER + "." + b64(json.dumps(claims, separators=(",", ":")).encode())
    lease = signing_input + "." + b64(KEY.sign(signing_input.encode()))
    expires = now + timedelta(days=7)
    return jsonify({"activation_id": activation_id, "lease": lease,
                    "lease_expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ")})


@app.get("/healthz")
def healthz():
    return {"status": "ok"}
