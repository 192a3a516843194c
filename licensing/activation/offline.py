"""Air-gapped activation: a signed request file in, a license file out.

The device signs its request with its own key, so the request file is the
proof of possession that DPoP gives online; the lease in the license file
binds that key and lasts the license's offline lease duration.
"""

from __future__ import annotations

import time

from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.database import db, rfc3339
from core.http import error_responses, json_body, load
from licensing import errors
from licensing.accounts.attempts import counting_failures, limit_credential_attempt
from licensing.activation.dpop import VerifiedProof
from licensing.activation.offline_files import (OfflineRequestInvalid, build_license_file,
                                                parse_activation_request)
from licensing.activation.schemas import CodeFields, PasswordFields, answer_for
from licensing.activation.services import DeviceClaim
from licensing.support.staff import authenticate_staff
from licensing.wiring import activation_service, key_service

blp = Blueprint("offline", __name__, url_prefix="/v1/offline",
                description="Offline activation for devices with no network.")

# A request file travels by hand (USB stick, e-mail); a month covers that.
MAX_REQUEST_AGE_SECONDS = 30 * 86400
# A request file is under 1 KiB. Even with worst-case JSON escaping (12 bytes a
# character) 4000 characters stay under the 64 KiB body limit, so an over-long
# request is told apart (400) from an oversize body (413).
MAX_REQUEST_CHARS = 4000


class OfflineActivationInputSchema(Schema):
    """The request file and how the submitter is authenticated."""

    request = fields.String(required=True, validate=validate.Length(1, MAX_REQUEST_CHARS))
    username = fields.String(validate=validate.Length(1, 150))
    password = fields.String(validate=validate.Length(1, 1024), load_only=True)
    activation_code = fields.String(validate=validate.Length(1, 128), load_only=True)
    license = fields.String(validate=validate.Length(1, 40),
                            metadata={"description": "License id, with an admin staff token"})

    @validates_schema
    def _one_way_to_authenticate(self, data, **kwargs):
        ways = [("username" in data or "password" in data), "activation_code" in data,
                "license" in data]
        if sum(ways) != 1 or (ways[0] and not ("username" in data and "password" in data)):
            raise ValidationError("Give username and password, activation_code, or (with an "
                                  "admin staff token) license.", "_schema")


class _RequestFile(Schema):
    request = fields.String(required=True, validate=validate.Length(1, MAX_REQUEST_CHARS))


class OfflinePasswordActivationSchema(_RequestFile, PasswordFields):
    """The OpenAPI form: authenticated by the account's username and password."""


class OfflineCodeActivationSchema(_RequestFile, CodeFields):
    """The OpenAPI form: authenticated by an activation code."""


class OfflineStaffActivationSchema(_RequestFile):
    """The OpenAPI form: an admin staff bearer token names the license."""

    license = fields.String(required=True, validate=validate.Length(1, 40))


class OfflineActivationOutputSchema(Schema):
    """The license file to carry back to the device."""

    activation_id = fields.String(required=True)
    license_file = fields.String(required=True)
    lease_expires_at = fields.String(required=True)


def _claim(text: str) -> DeviceClaim:
    try:
        parsed = parse_activation_request(text, now=time.time(),
                                          max_age=MAX_REQUEST_AGE_SECONDS)
    except OfflineRequestInvalid as exc:
        # The signed request file stands in for the DPoP proof of the online calls.
        raise errors.InvalidProof("The request file is not a valid, current activation request "
                                  "signed by its device.") from exc
    proof = VerifiedProof(jkt=parsed.thumbprint, public_key=parsed.public_jwk["x"],
                          jti=parsed.token_id)
    return DeviceClaim(product=parsed.product, fingerprint=parsed.fingerprint, proof=proof,
                       device_name=parsed.device_name, platform=parsed.platform)


def _activate(data: dict, claim: DeviceClaim):
    service = activation_service()
    if "license" in data:
        staff = authenticate_staff(request.headers.get("Authorization"))
        if staff.role != "admin":
            raise errors.Forbidden()
        return service.activate_on_license(claim, data["license"], offline=True)
    failures = limit_credential_attempt(data)
    with counting_failures(failures):
        if "activation_code" in data:
            return service.activate_with_code(claim, data["activation_code"], offline=True)
        return service.activate_with_password(claim, data["username"], data["password"],
                                              offline=True)


@blp.route("/activations", methods=["POST"])
@blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": {"oneOf": [
    OfflinePasswordActivationSchema, OfflineCodeActivationSchema,
    OfflineStaffActivationSchema]}}}})
@blp.response(201, OfflineActivationOutputSchema, description="A new offline seat")
@blp.alt_response(200, schema=OfflineActivationOutputSchema,
                  description="This device's seat, reused")
@error_responses(blp, 400, 401, 403, 404, 409, 413, 415, 429, 503)
def activate_offline():
    """Turn a device's signed request file into a license file."""
    data = load(OfflineActivationInputSchema(), json_body())
    claim = _claim(data["request"])
    result = _activate(data, claim)
    summary = answer_for(result)["license"]
    license_file = build_license_file(result.lease.token, key_service().jwks(), summary)
    db.session.commit()
    return ({"activation_id": result.seat.id, "license_file": license_file,
             "lease_expires_at": rfc3339(result.lease.expires_at)},
            201 if result.created else 200)
