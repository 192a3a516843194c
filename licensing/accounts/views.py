"""The Customer Area for the account holder: sign in, their profile, and all their data.

``POST /v1/session`` checks a username and password exactly as password
activation does — the same service method (argon2id, with a decoy hash for
unknown users), the same 401 body, the same attempt limits and failure
counters — and answers a bearer token that lasts TESSERA_SESSION_SECONDS.

Restriction (GDPR Art 18) keeps an account's data stored but stops its
processing: activation and refresh answer 403 ACCOUNT_RESTRICTED. Signing in
and reading one's own profile and data stay open to a restricted account:
that is the subject exercising their rights (access, portability, asking for
the restriction to be lifted), which Art 18 does not suspend, and refusing it
would lock the subject out of their own data. An erased account has no
username or password left, so it cannot sign in, and its sessions went with
the erasure.

The account holder reading their own data is not a staff access, so it is
not written to the access log.
"""

from __future__ import annotations

import functools

from flask import current_app, g, request
from flask_smorest import Api, Blueprint
from marshmallow import Schema, fields

from core.database import db, rfc3339
from core.http import error_responses, json_body, load
from licensing.accounts.attempts import counting_failures, limit_credential_attempt
from licensing.accounts.sessions import session_service
from licensing.activation.schemas import PasswordFields
from licensing.wiring import activation_service
from privacy.providers import ACCOUNT
from privacy.ropa import controller
from privacy.schemas import SubjectAccessReportSchema
from privacy.wiring import subject_access_service

blp = Blueprint("customer", __name__, url_prefix="/v1",
                description="Customer Area: the account holder's session, profile and data.")

SECURITY_SCHEME = "sessionToken"
SECURED = {"security": [{SECURITY_SCHEME: []}]}


class SessionInputSchema(PasswordFields):
    """POST /v1/session: the Customer Area username and password."""


class SessionOutputSchema(Schema):
    """A bearer token for the Customer Area, shown once."""

    token = fields.String(required=True)
    expires_at = fields.String(required=True)


class ProfileSchema(Schema):
    """GET /v1/me: the account holder's own account."""

    id = fields.String(required=True)
    username = fields.String(required=True)
    email = fields.String(required=True, allow_none=True)
    name = fields.String(required=True, allow_none=True)
    company = fields.String(required=True, allow_none=True)
    country = fields.String(required=True, allow_none=True)
    created_at = fields.String(required=True)
    restricted_at = fields.String(required=True, allow_none=True, metadata={
        "description": "set while processing is restricted at your request (GDPR Art 18)"})


class DataQuerySchema(Schema):
    """GET /v1/me/data query."""

    download = fields.Boolean(load_default=False, metadata={
        "description": "1 or true: answer as an attachment to save"})


_SESSION_INPUT = SessionInputSchema()
_DATA_QUERY = DataQuerySchema()


@blp.after_request
def _never_cached(response):
    # Tokens and personal data: no browser or proxy may keep a copy.
    response.headers["Cache-Control"] = "no-store"
    return response


def require_session(view):
    """Allow the view only with a live session token; the account goes to g.account."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        g.account = session_service().account_for(request.headers.get("Authorization"))
        return view(*args, **kwargs)
    return wrapper


@blp.route("/session", methods=["POST"])
@blp.doc(requestBody={"required": True,
                      "content": {"application/json": {"schema": SessionInputSchema}}})
@blp.response(201, SessionOutputSchema, description="A new session")
@error_responses(blp, 400, 401, 413, 415, 429, 503)
def sign_in():
    """Sign in with username and password for a Customer Area bearer token."""
    data = load(_SESSION_INPUT, json_body())
    failures = limit_credential_attempt(data)
    with counting_failures(failures):
        account = activation_service().authenticate(data["username"], data["password"])
    token, record = session_service().open(account)
    answer = {"token": token, "expires_at": rfc3339(record.expires_at)}
    db.session.commit()
    return answer, 201


@blp.route("/me", methods=["GET"])
@blp.doc(**SECURED)
@blp.response(200, ProfileSchema)
@error_responses(blp, 401, 503)
@require_session
def profile():
    """The signed-in account holder's own account."""
    account = g.account
    return {"id": account.id, "username": account.username, "email": account.email,
            "name": account.name, "company": account.company, "country": account.country,
            "created_at": rfc3339(account.created_at),
            "restricted_at": rfc3339(account.restricted_at)}


@blp.route("/me/data", methods=["GET"])
@blp.doc(parameters=[{"in": "query", "schema": DataQuerySchema}], **SECURED)
@blp.response(200, SubjectAccessReportSchema)
@error_responses(blp, 400, 401, 503)
@require_session
def my_data():
    """Export all the account holder's data with its purposes, bases, retention and sources.

    ``?download=1`` answers the same document as a file to save (portability, Art 20).
    """
    download = load(_DATA_QUERY, request.args.to_dict())["download"]
    report = subject_access_service().report(ACCOUNT, g.account.id,
                                             controller(current_app.config))
    if not download:
        return report
    filename = f"tessera-data-{g.account.id}.json"
    return report, 200, {"Content-Disposition": f'attachment; filename="{filename}"'}


def init_app(api: Api) -> None:
    """Register the Customer Area endpoints and their bearer scheme."""
    schemes = api.spec.components.security_schemes
    if SECURITY_SCHEME not in schemes:
        api.spec.components.security_scheme(
            SECURITY_SCHEME, {"type": "http", "scheme": "bearer",
                              "description": "Customer Area session token (tcs_...) from "
                                             "POST /v1/session"})
    api.register_blueprint(blp)
