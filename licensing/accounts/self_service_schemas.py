"""Schemas of the Customer Area's self-service endpoints (marshmallow, edge only)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from privacy.requests.models import TYPES
from privacy.requests.schemas import RequestListSchema, RequestSchema

__all__ = ["RequestListSchema", "RequestSchema"]  # the Customer Area's view of a request


class LicenseSchema(Schema):
    id = fields.String(required=True)
    product = fields.String(required=True)
    kind = fields.String(required=True)
    status = fields.String(required=True)
    seats = fields.Integer(required=True)
    seats_used = fields.Integer(required=True)
    starts_at = fields.String(required=True)
    expires_at = fields.String(required=True, allow_none=True)
    entitlements = fields.List(fields.String(), required=True)
    seat_mode = fields.String(required=True)


class LicenseListSchema(Schema):
    """GET /v1/me/licenses."""

    licenses = fields.List(fields.Nested(LicenseSchema), required=True)


class ActivationQuerySchema(Schema):
    all = fields.Boolean(load_default=False, metadata={
        "description": "true: released activations too, with released_at"})


class ActivationSchema(Schema):
    id = fields.String(required=True)
    license = fields.String(required=True)
    product = fields.String(required=True)
    device_name = fields.String(required=True, allow_none=True)
    platform = fields.String(required=True, allow_none=True)
    offline = fields.Boolean(required=True)
    activated_at = fields.String(required=True)
    last_refresh_at = fields.String(required=True, allow_none=True)
    country = fields.String(required=True, allow_none=True)
    released_at = fields.String(allow_none=True)


class ActivationListSchema(Schema):
    """GET /v1/me/activations."""

    activations = fields.List(fields.Nested(ActivationSchema), required=True)


class RequestInputSchema(Schema):
    """POST /v1/me/requests."""

    type = fields.String(required=True, validate=validate.OneOf(TYPES))
    details = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True),
                          metadata={"description": "{note} or, for rectification, "
                                                   "{email?, name?, company?, country?}"})


class ConsentInputSchema(Schema):
    """PUT /v1/me/consents/{purpose}."""

    granted = fields.Boolean(required=True, truthy={True}, falsy={False})


class ConsentSchema(Schema):
    purpose = fields.String(required=True)
    granted = fields.Boolean(required=True)
    updated_at = fields.String(required=True, allow_none=True)
    policy_version = fields.String(required=True)


class ConsentListSchema(Schema):
    """GET /v1/me/consents."""

    consents = fields.List(fields.Nested(ConsentSchema), required=True)


class NoticeSchema(Schema):
    id = fields.String(required=True)
    kind = fields.String(required=True)
    created_at = fields.String(required=True)
    text = fields.String(required=True)


class NoticeListSchema(Schema):
    """GET /v1/me/notices."""

    notices = fields.List(fields.Nested(NoticeSchema), required=True)
