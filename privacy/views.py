"""The privacy officer's endpoints: the record of processing and the access log.

Staff authentication belongs to the product (``licensing.support.staff``), and
``privacy`` never imports ``licensing``; so the app factory hands this
blueprint an authenticator — a function that takes the roles allowed and
returns the acting ``Actor`` or raises the 401/403 error. The endpoints stay
with the engine they expose, and the dependency still points one way.
"""

from __future__ import annotations

from typing import Callable

from flask import Flask, g, request
from flask_smorest import Api, Blueprint

from core.database import db, rfc3339
from core.http import error_responses, load
from privacy.audit import Access, Actor, reason_from_header
from privacy.purposes import PRIVACY_RIGHTS
from privacy.requests.views import blp as requests_blp
from privacy.schemas import AccessLogQuerySchema, AccessLogSchema, RopaSchema
from privacy.wiring import EXTENSION, audit_service, components, ropa_document

blp = Blueprint("privacy", __name__, url_prefix="/v1/privacy",
                description="Privacy officers: record of processing, access log.")

ROLES = ("privacy",)  # admin holds every role
SECURITY_SCHEME = "staffToken"
REASON_HEADER = {"name": "X-Access-Reason", "in": "header", "required": True,
                 "description": "Ticket reference or text, 3..200 chars",
                 "schema": {"type": "string", "minLength": 3, "maxLength": 200}}


def _errors(*statuses: int):
    return error_responses(blp, *statuses)


def _staff() -> Actor:
    authenticate = components().authenticate
    if authenticate is None:
        raise RuntimeError("privacy endpoints need an authenticator (see privacy.views.init_app)")
    return authenticate(ROLES)


@blp.route("/ropa", methods=["GET"])
@blp.doc(security=[{SECURITY_SCHEME: []}])
@blp.response(200, RopaSchema)
@_errors(401, 403)
def ropa():
    """The record of processing activities (GDPR Art 30), generated from the code."""
    _staff()
    return ropa_document()


@blp.route("/access-log", methods=["GET"])
@blp.doc(security=[{SECURITY_SCHEME: []}],
         parameters=[{"in": "query", "schema": AccessLogQuerySchema}, REASON_HEADER])
@blp.response(200, AccessLogSchema)
@_errors(400, 401, 403, 404)
def access_log():
    """Who read one subject's personal data, when, why and under which purpose."""
    actor = _staff()
    query = load(AccessLogQuerySchema(), request.args.to_dict())
    access = Access(actor, PRIVACY_RIGHTS,
                    reason_from_header(request.headers.get("X-Access-Reason"), "X-Access-Reason"),
                    g.get("request_id"))
    subject, entries = audit_service().read_log(access, query["subject"], query["limit"])
    db.session.commit()
    return {"subject": subject.value, "entries": [
        {"occurred_at": rfc3339(e.occurred_at), "actor": e.actor, "actor_role": e.actor_role,
         "purpose": e.purpose, "action": e.action, "reason": e.reason,
         "request_id": e.request_id} for e in entries]}


def init_app(app: Flask, api: Api, authenticate: Callable[[tuple[str, ...]], Actor]) -> None:
    """Register the endpoints, authenticating staff with AUTHENTICATE(roles) -> Actor."""
    app.extensions[EXTENSION].authenticate = authenticate
    schemes = api.spec.components.security_schemes
    if SECURITY_SCHEME not in schemes:
        api.spec.components.security_scheme(
            SECURITY_SCHEME, {"type": "http", "scheme": "bearer",
                              "description": "Staff bearer token (tss_...)"})
    api.register_blueprint(blp)
    api.register_blueprint(requests_blp)
