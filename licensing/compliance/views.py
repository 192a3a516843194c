"""Compliance officers' endpoints: records, disclosures; and recipients for admin."""

from __future__ import annotations

from flask import g, request
from flask_smorest import Blueprint

from core.database import db
from core.http import error_responses, json_body, load
from licensing.compliance import schemas
from licensing.compliance.wiring import allow_plain_http, disclosure_service, try_delivery
from licensing.support.staff import require_role
from privacy.audit import clean_reason
from privacy.legal.disclosures import as_disclosure_dict
from privacy.legal.records import RecordService, as_dict

blp = Blueprint("compliance", __name__, url_prefix="/v1/compliance",
                description="Compliance officers (bearer staff token, role compliance).")
admin_blp = Blueprint("compliance_admin", __name__, url_prefix="/v1/admin",
                      description="Admin: disclosure recipients.")

STAFF = [{"staffToken": []}]


def _records() -> RecordService:
    return RecordService(db.session)


def _disclosure_answer(disclosure) -> dict:
    service = disclosure_service()
    return as_disclosure_dict(disclosure, service.recipient(disclosure.recipient_id))


@blp.route("/records", methods=["GET"])
@blp.doc(security=STAFF, parameters=[{"in": "query", "schema": schemas.RecordQuerySchema}])
@blp.response(200, schemas.RecordListSchema)
@error_responses(blp, 400, 401, 403)
@require_role("compliance")
def records():
    """Unlicensed-use and export-compliance records, newest first."""
    query = load(schemas.RecordQuerySchema(), request.args.to_dict())
    found = _records().list(query.get("tag"), query.get("kind"), query.get("status"))
    return {"records": [as_dict(r) for r in found]}


@blp.route("/records/<record_id>/hold", methods=["POST"])
@blp.doc(security=STAFF, requestBody={"required": True, "content": {
    "application/json": {"schema": schemas.HoldInputSchema}}})
@blp.response(200, schemas.RecordSchema)
@error_responses(blp, 400, 401, 403, 404, 415)
@require_role("compliance")
def hold(record_id: str):
    """Put a record on legal hold (the purge leaves it alone), or lift the hold."""
    data = load(schemas.HoldInputSchema(), json_body())
    record = _records().hold(record_id, data["hold"], clean_reason(data["reason"]))
    answer = as_dict(record)
    db.session.commit()
    return answer


@blp.route("/records/<record_id>/close", methods=["POST"])
@blp.doc(security=STAFF, requestBody={"required": True, "content": {
    "application/json": {"schema": schemas.CloseInputSchema}}})
@blp.response(200, schemas.RecordSchema)
@error_responses(blp, 400, 401, 403, 404, 409, 415)
@require_role("compliance")
def close(record_id: str):
    """Close a record's case; its retention runs from now."""
    data = load(schemas.CloseInputSchema(), json_body())
    record = _records().close(record_id, clean_reason(data["reason"]))
    answer = as_dict(record)
    db.session.commit()
    return answer


@blp.route("/disclosures", methods=["POST"])
@blp.doc(security=STAFF, requestBody={"required": True, "content": {
    "application/json": {"schema": schemas.DisclosureInputSchema}}})
@blp.response(201, schemas.DisclosureSchema)
@error_responses(blp, 400, 401, 403, 404, 415)
@require_role("compliance")
def create_disclosure():
    """Disclose records to a registered recipient, as the sharing matrix allows."""
    data = load(schemas.DisclosureInputSchema(), json_body())
    disclosure = disclosure_service().create(
        g.actor, data["records"], data["recipient"], data.get("legal_reference"),
        data["reidentify"], g.get("request_id"))
    disclosure_id, pending = disclosure.id, disclosure.status == "pending"
    db.session.commit()
    if pending:
        try_delivery(disclosure_id)
    return _disclosure_answer(disclosure_service().get(disclosure_id)), 201


@blp.route("/disclosures/<disclosure_id>/approve", methods=["POST"])
@blp.doc(security=STAFF)
@blp.response(200, schemas.DisclosureSchema)
@error_responses(blp, 401, 403, 404, 409)
@require_role("compliance")
def approve_disclosure(disclosure_id: str):
    """A second compliance officer approves a re-identifying disclosure."""
    disclosure_service().approve(g.actor, disclosure_id, g.get("request_id"))
    db.session.commit()
    try_delivery(disclosure_id)
    return _disclosure_answer(disclosure_service().get(disclosure_id))


@blp.route("/disclosures", methods=["GET"])
@blp.doc(security=STAFF,
         parameters=[{"in": "query", "schema": schemas.DisclosureQuerySchema}])
@blp.response(200, schemas.DisclosureListSchema)
@error_responses(blp, 400, 401, 403)
@require_role("compliance")
def disclosures():
    """Disclosures, newest first."""
    query = load(schemas.DisclosureQuerySchema(), request.args.to_dict())
    return {"disclosures": [as_disclosure_dict(d, r)
                            for d, r in disclosure_service().list(query.get("status"))]}


@admin_blp.route("/recipients", methods=["POST"])
@admin_blp.doc(security=STAFF, requestBody={"required": True, "content": {
    "application/json": {"schema": schemas.RecipientInputSchema}}})
@admin_blp.response(201, schemas.RecipientSchema)
@error_responses(admin_blp, 400, 401, 403, 415)
@require_role("admin")
def add_recipient():
    """Register a recipient of disclosures (CLI twin: `compliance add-recipient`)."""
    data = load(schemas.RecipientInputSchema(), json_body())
    recipient = disclosure_service().add_recipient(data["name"], data["category"],
                                                   data["endpoint"], allow_plain_http())
    answer = {"id": recipient.id, "name": recipient.name, "category": recipient.category,
              "endpoint": recipient.endpoint}
    db.session.commit()
    return answer, 201


def init_app(api) -> None:
    """Register the compliance and recipient endpoints."""
    api.register_blueprint(blp)
    api.register_blueprint(admin_blp)
