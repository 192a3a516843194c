"""GET /v1/keys: the JWKS devices verify leases with."""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from core.database import db
from licensing.wiring import key_service

blp = Blueprint("signing", __name__, url_prefix="/v1",
                description="Lease-signing keys: the JWKS that verifies leases.")


class JwkSchema(Schema):
    """One public lease-signing key."""

    kty = fields.String(required=True)
    crv = fields.String(required=True)
    x = fields.String(required=True)
    kid = fields.String(required=True)
    use = fields.String(required=True)
    alg = fields.String(required=True)


class JwksSchema(Schema):
    """GET /v1/keys."""

    keys = fields.List(fields.Nested(JwkSchema), required=True)


@blp.route("/keys", methods=["GET"])
@blp.response(200, JwksSchema)
def keys():
    """The JWKS of every key that may have signed a live lease."""
    document = key_service().jwks()
    if not document["keys"]:
        key_service().ensure()
        db.session.commit()
        document = key_service().jwks()
    # `keys rotate` publishes a new key twice the key cache period before it
    # signs, so a copy kept for one period always holds the key of a new lease.
    seconds = current_app.config["TESSERA_KEY_CACHE_SECONDS"]
    return document, 200, {"Cache-Control": f"public, max-age={seconds}"}
