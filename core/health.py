"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy.exc import SQLAlchemyError

from core.database import db

log = logging.getLogger("tessera.ops")
class HealthSchema(Schema):
    """GET /healthz and /readyz."""

    status = fields.String(required=True)
    checks = fields.Dict(keys=fields.String(), values=fields.String())


blp = Blueprint("ops", __name__, description="Operations: liveness and readiness.")


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
@blp.alt_response(503, schema=HealthSchema, description="A database does not answer")
def readyz():
    """200 only when both databases answer."""
    checks = {"database": _probe(None), "compliance_database": _probe("compliance")}
    ready = all(value == "ok" for value in checks.values())
    return {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503
