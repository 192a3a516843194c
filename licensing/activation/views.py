"""The desktop protocol's endpoints: thin views over ActivationService."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, g, jsonify, request
from flask_smorest import Blueprint

from core.database import db, rfc3339, utcnow
from core.http import error_responses, json_body, load
from core.ratelimit import Counter
from licensing import errors
from licensing.activation.dpop import (
    DatabaseReplayCache,
    VerifiedProof,
    jti_hash,
    spend_window,
    verify_proof,
)
from licensing.activation.schemas import (
    ACTIVATION_REQUEST,
    ActivationInputSchema,
    ActivationOutputSchema,
    RefreshInputSchema,
)
from licensing.activation.services import ActivationResult, DeviceClaim
from licensing.wiring import (
    activation_service,
    components,
    current_signer,
    rate_limits,
    replay_cache,
)
from privacy.geo import Location
from privacy.wiring import components as privacy_components

blp = Blueprint("desktop", __name__, url_prefix="/v1",
                description="Desktop protocol: activate, refresh, deactivate.")

# Schemas hold no per-request state; building one costs more than a refresh's body load.
_ACTIVATION_INPUT = ActivationInputSchema()
_REFRESH_INPUT = RefreshInputSchema()

DPOP_HEADER = {"name": "DPoP", "in": "header", "required": True,
               "description": "RFC 9449 proof signed with the device's Ed25519 key",
               "schema": {"type": "string"}}


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
    return request.base_url


@dataclass(frozen=True)
class Spend:
    """A verified proof's jti, to be remembered until its window has passed."""

    key: str
    until: datetime


def verified_proof() -> tuple[VerifiedProof, Spend]:
    """Verify the request's DPoP proof; its jti still has to be spent."""
    now = utcnow()
    window = current_app.config["TESSERA_DPOP_WINDOW_SECONDS"]
    proof = verify_proof(request.headers.get("DPoP"), request.method, expected_url(), now, window)
    return proof, Spend(jti_hash(proof.jti, proof.jkt), spend_window(now, window))


def spend_after_rollback(spend: Spend) -> None:
    """Spend the jti again if the request's transaction rolls back.

    A refused proof cannot be replayed either: its jti is spent whatever the outcome.
    """
    def spend_again():
        DatabaseReplayCache(db.session).spend(spend.key, spend.until)
        db.session.commit()
    g.after_rollback = spend_again


def spend_now(spend: Spend) -> None:
    """Spend the jti in the replay cache; a proof used before is refused."""
    cache = replay_cache()
    if not cache.spend(spend.key, spend.until):
        raise errors.InvalidProof("This proof has been used before.")
    if cache.transactional:
        spend_after_rollback(spend)


def require_proof() -> VerifiedProof:
    """Verify the request's DPoP proof and spend its jti, whatever happens next."""
    proof, spend = verified_proof()
    spend_now(spend)
    return proof


def limit_credential_attempt(data: dict) -> Counter:
    """Apply the attempt limits (429) and return where a failure of this attempt counts."""
    address = request.remote_addr or "unknown"
    if "activation_code" in data:
        failures = Counter("code-failures", address)
        rate_limits().guard(hit=[Counter("address-attempts", address)], test=[failures])
        return failures
    account = data["username"].strip().casefold()
    failures = Counter("account-failures", account)
    rate_limits().guard(hit=[Counter("address-attempts", address),
                             Counter("account-attempts", account)], test=[failures])
    return failures


@contextmanager
def counting_failures(counter: Counter):
    """Count a refused credential or code against COUNTER, then let the refusal through."""
    try:
        yield
    except (errors.InvalidCredentials, errors.InvalidActivationCode):
        rate_limits().failed(counter)
        raise


def request_location() -> Location:
    """Country and truncated prefix of the client; its address goes no further.

    ``remote_addr`` is the peer, or the client named by the trusted proxies'
    X-Forwarded-For once ProxyFix has applied TESSERA_TRUSTED_PROXIES hops.
    """
    return privacy_components().locator.locate(request.remote_addr, request.headers)


def answer_for(result: ActivationResult) -> dict:
    license = result.license
    return {
        "activation_id": result.seat.id,
        "license": {"id": license.id, "product": result.product_code, "kind": license.kind,
                    "expires_at": rfc3339(license.expires_at),
                    "entitlements": list(license.entitlements or []),
                    "seats": license.seats, "seats_used": result.seats_used},
        "lease": result.lease.token,
        "lease_expires_at": rfc3339(result.lease.expires_at),
        "refresh_after": rfc3339(result.lease.refresh_after),
    }


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
                        location=request_location())
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
    pending = None
    if replay_cache().transactional:
        # The database spends the jti in the refresh's own statement.
        spend_after_rollback(spend)
        pending = (spend.key, spend.until)
    else:
        spend_now(spend)
    try:
        # Most refreshes send no body, and an empty one is valid: nothing to validate.
        data = load(_REFRESH_INPUT, body) if body else {}
    except errors.ValidationFailed:
        if pending is not None:
            spend_now(spend)  # a replayed proof is refused (401) before a bad body (400)
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
