"""Support staff actions on a customer's activations."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from core.database import db, rfc3339, utcnow
from core.http import error_responses
from licensing.activation import seats
from licensing.support.staff import access_reason, record_access, require_role
from privacy.purposes import SUPPORT

blp = Blueprint("support", __name__, url_prefix="/v1/support",
                description="Support staff (bearer staff token, role support).")

STAFF_HEADERS = [
    {"name": "Authorization", "in": "header", "required": True,
     "description": "Bearer staff token", "schema": {"type": "string"}},
    {"name": "X-Access-Reason", "in": "header", "required": True,
     "description": "Ticket reference or reason, 3..200 characters",
     "schema": {"type": "string", "minLength": 3, "maxLength": 200}},
]


class ReleaseOutputSchema(Schema):
    """The released activation."""

    activation_id = fields.String(required=True)
    released_at = fields.String(required=True)


@blp.route("/activations/<activation_id>/release", methods=["POST"])
@blp.doc(parameters=STAFF_HEADERS)
@blp.response(200, ReleaseOutputSchema)
@error_responses(blp, 400, 401, 403, 404, 503)
@require_role("support")
def release(activation_id: str):
    """Release an activation's seat (idempotent), e.g. for a lost or air-gapped device."""
    reason = access_reason()
    seat = seats.locked_seat(db.session, activation_id)
    seats.release(seat, seats.SUPPORT, utcnow())
    record_access(SUPPORT, reason, seat.license.account_id, "support.activation.release")
    answer = {"activation_id": seat.id, "released_at": rfc3339(seat.released_at)}
    db.session.commit()
    return answer
