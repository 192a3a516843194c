"""Support staff's JSON endpoints: thin views over SupportService.

Order of checks: 401 (no or dead token), 403 (role), 400 (no X-Access-Reason,
then the query or body), then the look-up.
"""

from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from core.database import db
from core.http import error_responses, json_body, load
from licensing.support.schemas import (AccountListSchema, AccountQuerySchema, CodeInputSchema,
                                       CodeOutputSchema, DeviceListSchema, DeviceQuerySchema,
                                       ReleaseOutputSchema, SupportLicenseSchema)
from licensing.support.staff import REASON_HEADER, request_access, require_role
from licensing.support.wiring import support_service
from privacy.purposes import SUPPORT

blp = Blueprint("support", __name__, url_prefix="/v1/support",
                description="Support staff (bearer staff token, role support).")

SECURITY = [{"staffToken": []}]
REASON = {"name": REASON_HEADER, "in": "header", "required": True,
          "description": "Ticket reference or reason, 3..200 characters",
          "schema": {"type": "string", "minLength": 3, "maxLength": 200}}


def _service():
    return support_service(request_access(SUPPORT))


@blp.route("/accounts", methods=["GET"])
@blp.doc(security=SECURITY, parameters=[{"in": "query", "schema": AccountQuerySchema}, REASON])
@blp.response(200, AccountListSchema)
@error_responses(blp, 400, 401, 403, 503)
@require_role("support")
def accounts():
    """Find an account by exact username or email (through the blind index)."""
    service = _service()
    query = load(AccountQuerySchema(), request.args.to_dict())
    if "username" in query:
        found = service.accounts_by_username(query["username"])
    else:
        found = service.accounts_by_email(query["email"])
    db.session.commit()
    return {"accounts": found}


@blp.route("/licenses/<license_id>", methods=["GET"])
@blp.doc(security=SECURITY, parameters=[REASON])
@blp.response(200, SupportLicenseSchema)
@error_responses(blp, 400, 401, 403, 404, 503)
@require_role("support")
def license(license_id: str):
    """One license, its holder and every activation."""
    answer = _service().license(license_id)
    db.session.commit()
    return answer


@blp.route("/devices", methods=["GET"])
@blp.doc(security=SECURITY, parameters=[{"in": "query", "schema": DeviceQuerySchema}, REASON])
@blp.response(200, DeviceListSchema)
@error_responses(blp, 400, 401, 403, 503)
@require_role("support")
def devices():
    """A device's activations of a product (the fingerprint is pseudonymised on arrival)."""
    service = _service()
    query = load(DeviceQuerySchema(), request.args.to_dict())
    found = service.devices(query["product"], query["fingerprint"])
    db.session.commit()
    return {"activations": found}


@blp.route("/activations/<activation_id>/release", methods=["POST"])
@blp.doc(security=SECURITY, parameters=[REASON])
@blp.response(200, ReleaseOutputSchema)
@error_responses(blp, 400, 401, 403, 404, 503)
@require_role("support")
def release(activation_id: str):
    """Release an activation's seat (idempotent), e.g. for a lost or air-gapped device."""
    answer = _service().release(activation_id)
    db.session.commit()
    return answer


@blp.route("/licenses/<license_id>/codes", methods=["POST"])
@blp.doc(security=SECURITY, parameters=[REASON],
         requestBody={"required": False,
                      "content": {"application/json": {"schema": CodeInputSchema}}})
@blp.response(201, CodeOutputSchema)
@error_responses(blp, 400, 401, 403, 404, 409, 413, 415, 503)
@require_role("support")
def issue_code(license_id: str):
    """A fresh single-use activation code for the license (shown once)."""
    service = _service()
    data = load(CodeInputSchema(), json_body(optional=True))
    answer = service.issue_code(license_id, data.get("days"))
    db.session.commit()
    return answer, 201
