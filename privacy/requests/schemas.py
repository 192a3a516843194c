"""Schemas of the privacy officer's request endpoints (marshmallow, edge only)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from privacy.requests.models import CHANNELS, STATUSES, TYPES

OFFICE_CHANNELS = tuple(c for c in CHANNELS if c != "customer_area")


class RequestQuerySchema(Schema):
    """GET /v1/privacy/requests query."""

    status = fields.String(validate=validate.OneOf(STATUSES))
    type = fields.String(validate=validate.OneOf(TYPES))
    overdue = fields.Boolean(metadata={"description": "true: open and past due_at only"})


class EnterRequestSchema(Schema):
    """POST /v1/privacy/requests: a request received by email, post or phone."""

    account = fields.String(required=True, validate=validate.Regexp(r"^acc_[a-z0-9]{1,36}$"))
    type = fields.String(required=True, validate=validate.OneOf(TYPES))
    details = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True))
    received_at = fields.AwareDateTime(metadata={
        "description": "when the request reached us (RFC 3339; not in the future); default now"})
    channel = fields.String(required=True, validate=validate.OneOf(OFFICE_CHANNELS))


class CompleteSchema(Schema):
    """POST .../complete: nothing, or an objection's compelling grounds."""

    compelling_grounds = fields.String(validate=validate.Length(3, 500), metadata={
        "description": "objection only: rejects it, recording these grounds"})


class ExtendSchema(Schema):
    """POST .../extend."""

    months = fields.Integer(required=True, validate=validate.OneOf((1, 2)))
    reason = fields.String(required=True, validate=validate.Length(3, 500))


class RejectSchema(Schema):
    """POST .../reject."""

    reason = fields.String(required=True, validate=validate.Length(3, 500))


class ExtensionSchema(Schema):
    months = fields.Integer(required=True)
    reason = fields.String(required=True)


class RequestSchema(Schema):
    """A data-subject request as its subject sees it."""

    id = fields.String(required=True)
    type = fields.String(required=True)
    status = fields.String(required=True)
    channel = fields.String(required=True)
    received_at = fields.String(required=True)
    due_at = fields.String(required=True)
    overdue = fields.Boolean(required=True)
    details = fields.Dict(required=True)
    extension = fields.Nested(ExtensionSchema, allow_none=True)
    decided_at = fields.String(allow_none=True)
    outcome = fields.Dict(allow_none=True)


class RequestListSchema(Schema):
    """GET /v1/me/requests."""

    requests = fields.List(fields.Nested(RequestSchema), required=True)


class StaffRequestSchema(RequestSchema):
    """A request as privacy officers see it: with the account id, details masked."""

    account = fields.String(required=True)


class StaffRequestListSchema(Schema):
    """GET /v1/privacy/requests."""

    requests = fields.List(fields.Nested(StaffRequestSchema), required=True)


class LiftedSchema(Schema):
    """POST /v1/privacy/accounts/{id}/lift-restriction."""

    account = fields.String(required=True)
    restricted = fields.Boolean(required=True)
    notice = fields.String(required=True)
    lifted_at = fields.String(required=True)
