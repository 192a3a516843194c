"""The desktop protocol's endpoints: thin views over ActivationService."""

from __future__ import annotations

import re

from flask import current_app, g, jsonify, request
from flask_smorest import Blueprint

from core.database import db, utcnow
from core.http import error_responses, json_body, load
from core.metrics import outcome_counter
from licensing import errors
from licensing.accounts.attempts import counting_failures, limit_credential_attempt
from licensing.activation.dpop import VerifiedProof, challenge, verify_proof
from licensing.activation.replay import Spend
from licensing.activation.schemas import (ACTIVATION_REQUEST, ActivationInputSchema,
                                          ActivationOutputSchema, BorrowInputSchema,
                                          RefreshInputSchema, answer_for)
from licensing.activation.services import DeviceClaim
from licensing.wiring import (activation_service, borrow_service, components, current_signer,
                              replay_guard)
from privacy.geo import Location
from privacy.wiring import components as privacy_components

blp = Blueprint("desktop", __name__, url_prefix="/v1",
                description="Desktop protocol: activate, refresh, deactivate.")

ACTIVATIONS = outcome_counter(
    "tessera_activations_total", "Activations answered, by result (created, ok or error code).",
    [("POST", "/v1/activations"), ("POST", "/v1/offline/activations")])
REFRESHES = outcome_counter(
    "tessera_refreshes_total", "Refreshes answered, by result (ok or error code).",
    [("POST", "/v1/activations/<activation_id>/refresh")])

# Schemas hold no per-request state; building one costs more than a refresh's body load.
_ACTIVATION_INPUT = ActivationInputSchema()
_REFRESH_INPUT = RefreshInputSchema()
_BORROW_INPUT = BorrowInputSchema()

# Characters base_url leaves as they are: for such a path it is scheme://host + path.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9/_.~-]*", re.ASCII)
DPOP_HEADER = {"name": "DPoP", "in": "header", "required": True,
               "description": "RFC 9449 proof signed with the device's Ed25519 key",
               "schema": {"type": "string"}}


@blp.before_request
def _dpop_challenge():
    # Every 401 here (a proof, a password or a code refused) names the DPoP scheme.
    g.challenge = lambda error: challenge(error, proof_sent=bool(request.headers.get("DPoP")))


def _json_request(schema) -> dict:
    return {"requestBody": {"required": True,
                            "content": {"application/json": {"schema": schema}}},
            "parameters": [DPOP_HEADER]}


def _errors(*statuses: int):
    return error_responses(blp, *statuses)


def expected_url() -> str:
    """The URL a proof's htu must name: the public URL when configured."""
    public = current_app.config.get("TESSERA_PUBLIC_URL")
    if public:
        return public.rstrip("/") + request.path
    path, host = request.script_root + request.path, request.host
    if _PLAIN_PATH.fullmatch(path) and "xn--" not in host:
        # What base_url gives for a path of plain characters (and a host it would not turn
        # to Unicode), without its quoting round trip.
        return f"{request.scheme}://{host}{path}"
    return request.base_url


def verified_proof() -> tuple[VerifiedProof, Spend]:
    """Verify the request's DPoP proof; its jti still has to be spent."""
    now = utcnow()
    window = current_app.config["TESSERA_DPOP_WINDOW_SECONDS"]
    proof = verify_proof(request.headers.get("DPoP"), request.method, expected_url(), now, window)
    return proof, Spend.of(proof.jti, proof.jkt, now, window)


def require_proof() -> VerifiedProof:
    """Verify the request's DPoP proof and spend its jti, whatever happens next."""
    proof, spend = verified_proof()
    replay_guard().spend(spend)
    return proof


def request_location() -> Location:
    """Country and truncated prefix of the client; its address goes no further.

    ``remote_addr`` is the peer, or the client named by the trusted proxies'
    X-Forwarded-For once ProxyFix has applied TESSERA_TRUSTED_PROXIES hops.
    """
    return privacy_components().locator.locate(request.remote_addr, request.headers)


@blp.route("/activations", methods=["POST"])
@blp.doc(**_json_request(ACTIVATION_REQUEST))
@blp.response(201, ActivationOutputSchema, description="A new seat")
@blp.alt_response(200, schema=ActivationOutputSchema, description="This device's seat, reused")
@_errors(400, 401, 403, 404, 409, 413, 415, 429, 503)
def activate():
    """Activate a device with username and password or an activation code."""
    body = json_body()
    proof = require_proof()
    data = load(_ACTIVATION_INPUT, body)
    claim = DeviceClaim(product=data["product"], fingerprint=data["fingerprint"], proof=proof,
                        device_name=data.get("device_name"), platform=data.get("platform"),
                        location=request_location(), components=data.get("components"))
    failures = limit_credential_attempt(data)
    service = activation_service()
    with counting_failures(failures):
        if "activation_code" in data:
            result = service.activate_with_code(claim, data["activation_code"])
        else:
            result = service.activate_with_password(claim, data["username"], data["password"])
    answer = jsonify(answer_for(result))
    db.session.commit()
    return answer, 201 if result.created else 200


@blp.route("/activations/<activation_id>/refresh", methods=["POST"])
@blp.doc(**_json_request(RefreshInputSchema))
@blp.response(200, ActivationOutputSchema)
@_errors(400, 401, 403, 404, 410, 413, 415, 503)
def refresh(activation_id: str):
    """Issue a new lease for an active activation."""
    body = json_body(optional=True)
    proof, spend = verified_proof()
    # The database spends the jti in the refresh's own statement; Redis spends it now.
    pending = replay_guard().defer(spend)
    try:
        # Most refreshes send no body, and an empty one is valid: nothing to validate.
        data = load(_REFRESH_INPUT, body) if body else {}
    except errors.ValidationFailed:
        if pending is not None:
            replay_guard().spend(spend)  # a replayed proof is refused (401) before a bad body (400)
        raise
    fingerprint = data.get("fingerprint")
    # The signing key is loaded (on a cache miss) through the session first, and
    # that transaction ends before the refresh's own begins: on SQLite both would
    # want the write lock, and a key made on first use must be committed.
    service = activation_service(current_signer())
    if db.session.registry.has() and db.session().in_transaction():
        db.session.commit()
    # Not on the ORM session: its unit of work has nothing to do on a refresh, and
    # its begin and commit cost more than the statement. On PostgreSQL the refresh
    # is one statement that writes only what an allowed refresh writes, so it runs
    # without BEGIN and COMMIT round trips (a fingerprint check needs a transaction).
    autocommit = components().autocommit
    if autocommit is not None and fingerprint is None:
        work = autocommit.connect()
    else:
        work = db.engine.begin()
    with work as connection:
        result = service.refresh(activation_id, proof, request_location(), fingerprint,
                                 spend=pending, connection=connection)
    # Built here, not dumped through the documented schema: the answer has its shape.
    return jsonify(answer_for(result))


@blp.route("/activations/<activation_id>/borrow", methods=["POST"])
@blp.doc(**_json_request(BorrowInputSchema))
@blp.response(200, ActivationOutputSchema, description="The seat with a borrowed lease")
@_errors(400, 401, 403, 404, 410, 413, 415, 503)
def borrow(activation_id: str):
    """Take a floating seat off the network: a lease ending at `until`."""
    body = json_body()
    proof = require_proof()
    data = load(_BORROW_INPUT, body)
    result = borrow_service().borrow(activation_id, proof, data["until"], request_location())
    answer = jsonify(answer_for(result))
    db.session.commit()
    return answer


@blp.route("/activations/<activation_id>", methods=["DELETE"])
@blp.doc(parameters=[DPOP_HEADER])
@blp.response(204)
@_errors(401, 404, 503)
def deactivate(activation_id: str):
    """Free the activation's seat (idempotent)."""
    proof = require_proof()
    activation_service().deactivate(activation_id, proof)
    db.session.commit()
    return None
