"""The privacy officer's request endpoints: list, enter, complete, extend, reject, lift.

Like privacy's other endpoints, staff authentication comes from the product
through ``privacy.wiring.components()`` (set by ``privacy.views.init_app``):
``privacy`` never imports ``licensing``. Every
change needs an ``X-Access-Reason``, which goes to the access log; answers
name no person beyond the account id.
"""

from __future__ import annotations

from flask import g, request
from flask_smorest import Blueprint

from core.database import db
from core.http import error_responses, json_body, load
from privacy.audit import Access, Actor, clean_reason
from privacy.providers import ACCOUNT
from privacy.purposes import PRIVACY_RIGHTS
from privacy.requests import metrics  # noqa: F401  (registers the open-requests gauge)
from privacy.requests.presenting import describe
from privacy.requests.schemas import (CompleteSchema, EnterRequestSchema, ExtendSchema,
                                      LiftedSchema, RejectSchema, RequestQuerySchema,
                                      StaffRequestListSchema, StaffRequestSchema)
from privacy.wiring import commit_decision, components, request_service, restriction_service

blp = Blueprint("privacy_requests", __name__, url_prefix="/v1/privacy",
                description="Privacy officers: data-subject requests and restrictions.")

ROLES = ("privacy",)  # admin holds every role
SECURED = {"security": [{"staffToken": []}]}
REASON_HEADER = {"name": "X-Access-Reason", "in": "header", "required": True,
                 "description": "Ticket reference or text, 3..200 chars",
                 "schema": {"type": "string", "minLength": 3, "maxLength": 200}}


def _body_doc(schema) -> dict:
    return {"requestBody": {"required": True,
                            "content": {"application/json": {"schema": schema}}},
            "parameters": [REASON_HEADER], **SECURED}


def _officer() -> Actor:
    return components().authenticate(ROLES)


def _access(actor: Actor) -> Access:
    reason = clean_reason(request.headers.get("X-Access-Reason"), "X-Access-Reason")
    return Access(actor, PRIVACY_RIGHTS, reason, g.get("request_id"))


def _body(schema) -> dict:
    return load(schema, json_body(optional=True))


@blp.route("/requests", methods=["GET"])
@blp.doc(parameters=[{"in": "query", "schema": RequestQuerySchema}], **SECURED)
@blp.response(200, StaffRequestListSchema)
@error_responses(blp, 400, 401, 403, 503)
def list_requests():
    """Requests by status and type; ?overdue=true: open and past their deadline."""
    _officer()
    query = load(RequestQuerySchema(), request.args.to_dict())
    found = request_service().search(query.get("status"), query.get("type"),
                                     query.get("overdue"))
    return {"requests": [describe(r, staff=True) for r in found]}


@blp.route("/requests", methods=["POST"])
@blp.doc(**_body_doc(EnterRequestSchema))
@blp.response(201, StaffRequestSchema)
@error_responses(blp, 400, 401, 403, 404, 409, 413, 415, 503)
def enter_request():
    """Enter a request received by email, post or phone, with its real receipt date."""
    access = _access(_officer())
    data = _body(EnterRequestSchema())
    entered = request_service().enter(ACCOUNT, data["account"], data["type"],
                                      data.get("details"), data["channel"],
                                      data.get("received_at"), access)
    answer = describe(entered, staff=True)
    db.session.commit()
    return answer, 201


@blp.route("/requests/<request_id>/complete", methods=["POST"])
@blp.doc(**_body_doc(CompleteSchema))
@blp.response(200, StaffRequestSchema)
@error_responses(blp, 400, 401, 403, 404, 409, 413, 415, 503)
def complete_request(request_id: str):
    """Carry the request out now (erasure, restriction, objection, rectification, export)."""
    access = _access(_officer())
    data = _body(CompleteSchema())
    done = request_service().complete(request_id, access, data.get("compelling_grounds"))
    answer = describe(done, staff=True)
    commit_decision(done)
    return answer


@blp.route("/requests/<request_id>/extend", methods=["POST"])
@blp.doc(**_body_doc(ExtendSchema))
@blp.response(200, StaffRequestSchema)
@error_responses(blp, 400, 401, 403, 404, 409, 413, 415, 503)
def extend_request(request_id: str):
    """Extend the deadline by one or two months, once, within the first month."""
    access = _access(_officer())
    data = _body(ExtendSchema())
    extended = request_service().extend(request_id, data["months"], data["reason"], access)
    answer = describe(extended, staff=True)
    db.session.commit()
    return answer


@blp.route("/requests/<request_id>/reject", methods=["POST"])
@blp.doc(**_body_doc(RejectSchema))
@blp.response(200, StaffRequestSchema)
@error_responses(blp, 400, 401, 403, 404, 409, 413, 415, 503)
def reject_request(request_id: str):
    """Refuse the request with the reason the subject is given."""
    access = _access(_officer())
    data = _body(RejectSchema())
    rejected = request_service().reject(request_id, data["reason"], access)
    answer = describe(rejected, staff=True)
    db.session.commit()
    return answer


@blp.route("/accounts/<account_id>/lift-restriction", methods=["POST"])
@blp.doc(parameters=[REASON_HEADER], **SECURED)
@blp.response(200, LiftedSchema)
@error_responses(blp, 400, 401, 403, 404, 409, 503)
def lift_restriction(account_id: str):
    """Tell the account holder, then lift the restriction of processing."""
    access = _access(_officer())
    answer = restriction_service().lift(ACCOUNT, account_id, access)
    db.session.commit()
    return answer
