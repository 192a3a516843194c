"""Liveness and readiness for load balancers and orchestrators.

Besides the two databases, the packages above may add readiness checks and
describe what the instance holds (`register_readiness`): licensing reports
the key ids it holds and whether the stored data needs a key it lacks.
"""

from __future__ import annotations

import logging
from typing import Callable

import sqlalchemy as sa
from flask import Flask, current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy.exc import SQLAlchemyError

from core.database import db

log = logging.getLogger("tessera.ops")
_READINESS = "tessera.readiness"


class HealthSchema(Schema):
    """GET /healthz and /readyz."""

    status = fields.String(required=True)
    checks = fields.Dict(keys=fields.String(), values=fields.String())
    # /readyz: the key ids this instance holds (ids only), for `keys rotate-vault --check-url`.
    # (Named key_ids here: a dict's own .keys would stand in for a missing "keys".)
    key_ids = fields.Dict(data_key="keys", keys=fields.String(),
                          values=fields.List(fields.String()))


blp = Blueprint("ops", __name__, description="Operations: liveness and readiness.")


def register_readiness(app: Flask, check: Callable[[], dict[str, str]],
                       keys: Callable[[], dict[str, list[str]]] | None = None) -> None:
    """Add CHECK (names -> "ok" or why not) to /readyz, and KEYS to what it lists."""
    hooks = app.extensions.setdefault(_READINESS, {"checks": [], "keys": []})
    hooks["checks"].append(check)
    if keys is not None:
        hooks["keys"].append(keys)


@blp.route("/healthz", methods=["GET"])
@blp.response(200, HealthSchema)
def healthz():
    """200 whenever the process serves."""
    return {"status": "ok", "checks": {}}


def _probe(bind_key: str | None) -> str:
    try:
        with db.engines[bind_key].connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        return "ok"
    except SQLAlchemyError as exc:
        log.warning("readiness: %s database unavailable (%s)", bind_key or "default",
                    type(exc).__name__)
        return "unavailable"


@blp.route("/readyz", methods=["GET"])
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema,
                  description="A database does not answer, or a registered check fails "
                              "(stored data needs a key this instance lacks)")
def readyz():
    """200 only when both databases answer and every registered check passes."""
    hooks = current_app.extensions.get(_READINESS, {"checks": [], "keys": []})
    checks = {"database": _probe(None), "compliance_database": _probe("compliance")}
    if checks["database"] == "ok":
        for check in hooks["checks"]:
            checks.update(check())
    ready = all(value == "ok" for value in checks.values())
    key_ids = {ring: ids for describe in hooks["keys"] for ring, ids in describe().items()}
    return ({"status": "ok" if ready else "unavailable", "checks": checks, "key_ids": key_ids},
            200 if ready else 503)
