"""The Customer Area's self-service API: sign out, licenses, devices, and the privacy centre.

Every endpoint needs the account holder's session token (``POST
/v1/session``) and answers only about that account. The work is done by
services the Customer Area pages call too: ``AccountHoldings`` here, and
privacy's request, consent and notice services, always for the subject
(``account``, the signed-in account's id).

A restricted account (Art 18) can still use all of this: reading and
managing one's own data, filing requests and giving or withdrawing consent
are the subject exercising their rights, which a restriction does not stop.
"""

from __future__ import annotations

from flask import g, request
from flask_smorest import Api, Blueprint

from core.database import db
from core.http import error_responses, json_body, load
from licensing.accounts.holdings import AccountHoldings
from licensing.accounts.self_service_schemas import (ActivationListSchema, ActivationQuerySchema,
                                                     ConsentInputSchema, ConsentListSchema,
                                                     ConsentSchema, LicenseListSchema,
                                                     NoticeListSchema, RequestInputSchema,
                                                     RequestListSchema, RequestSchema)
from licensing.accounts.sessions import session_service
from licensing.accounts.views import SECURED, require_session
from privacy.notices import notice_view
from privacy.providers import ACCOUNT
from privacy.requests.presenting import describe
from privacy.wiring import consent_service, notice_service, request_service

blp = Blueprint("customer_self_service", __name__, url_prefix="/v1",
                description="Customer Area: licenses, devices, requests, consents, notices.")

_REQUEST_INPUT = RequestInputSchema()
_CONSENT_INPUT = ConsentInputSchema()
_ACTIVATION_QUERY = ActivationQuerySchema()


@blp.after_request
def _never_cached(response):
    # Personal data: no browser or proxy may keep a copy.
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.route("/session", methods=["DELETE"])
@blp.doc(**SECURED)
@blp.response(204)
@error_responses(blp, 401, 503)
def sign_out():
    """End this session: its token stops working at once."""
    session_service().close(request.headers.get("Authorization"))
    db.session.commit()


@blp.route("/me/licenses", methods=["GET"])
@blp.doc(**SECURED)
@blp.response(200, LicenseListSchema)
@error_responses(blp, 401, 503)
@require_session
def my_licenses():
    """The signed-in account's licenses and the seats each has in use."""
    return {"licenses": AccountHoldings(db.session).licenses(g.account.id)}


@blp.route("/me/activations", methods=["GET"])
@blp.doc(parameters=[{"in": "query", "schema": ActivationQuerySchema}], **SECURED)
@blp.response(200, ActivationListSchema)
@error_responses(blp, 400, 401, 503)
@require_session
def my_activations():
    """The account's active devices (?all=true adds released ones)."""
    query = load(_ACTIVATION_QUERY, request.args.to_dict())
    return {"activations": AccountHoldings(db.session).activations(g.account.id,
                                                                   query["all"])}


@blp.route("/me/activations/<activation_id>", methods=["DELETE"])
@blp.doc(**SECURED)
@blp.response(204)
@error_responses(blp, 401, 404, 503)
@require_session
def deactivate_mine(activation_id: str):
    """Free one of the account's seats (idempotent); the device's next refresh gets 410."""
    AccountHoldings(db.session).deactivate(g.account.id, activation_id)
    db.session.commit()


@blp.route("/me/requests", methods=["POST"])
@blp.doc(requestBody={"required": True,
                      "content": {"application/json": {"schema": RequestInputSchema}}},
         **SECURED)
@blp.response(202, RequestSchema, description="The request, received")
@error_responses(blp, 400, 401, 409, 413, 415, 503)
@require_session
def file_request():
    """File a data-subject request; it is due one month from now."""
    data = load(_REQUEST_INPUT, json_body())
    filed = request_service().file(ACCOUNT, g.account.id, data["type"], data.get("details"))
    answer = describe(filed)
    db.session.commit()
    return answer, 202


@blp.route("/me/requests", methods=["GET"])
@blp.doc(**SECURED)
@blp.response(200, RequestListSchema)
@error_responses(blp, 401, 503)
@require_session
def my_requests():
    """The account's data-subject requests, newest first, with deadlines and outcomes."""
    return {"requests": [describe(r) for r in
                         request_service().for_subject(ACCOUNT, g.account.id)]}


@blp.route("/me/consents", methods=["GET"])
@blp.doc(**SECURED)
@blp.response(200, ConsentListSchema)
@error_responses(blp, 401, 503)
@require_session
def my_consents():
    """One entry per purpose whose lawful basis is consent."""
    return {"consents": [s.as_dict() for s in consent_service().states(ACCOUNT, g.account.id)]}


@blp.route("/me/consents/<purpose>", methods=["PUT"])
@blp.doc(requestBody={"required": True,
                      "content": {"application/json": {"schema": ConsentInputSchema}}},
         **SECURED)
@blp.response(200, ConsentSchema)
@error_responses(blp, 400, 401, 404, 413, 415, 503)
@require_session
def set_consent(purpose: str):
    """Give or withdraw consent to PURPOSE; it takes effect at once."""
    data = load(_CONSENT_INPUT, json_body())
    state = consent_service().record(ACCOUNT, g.account.id, purpose, data["granted"])
    db.session.commit()
    return state.as_dict()


@blp.route("/me/notices", methods=["GET"])
@blp.doc(**SECURED)
@blp.response(200, NoticeListSchema)
@error_responses(blp, 401, 503)
@require_session
def my_notices():
    """What the service has told the account holder, newest first."""
    return {"notices": [notice_view(n) for n in
                        notice_service().for_subject(ACCOUNT, g.account.id)]}


def init_app(api: Api) -> None:
    """Register the self-service endpoints (after the Customer Area's own)."""
    api.register_blueprint(blp)
