"""Request and response schemas of the support endpoints (marshmallow, edge only)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

_TIME = {"allow_none": True, "metadata": {"format": "date-time"}}


class AccountQuerySchema(Schema):
    """GET /v1/support/accounts: exactly one of username or email (both exact)."""

    username = fields.String(validate=validate.Length(1, 150))
    email = fields.String(validate=validate.Length(3, 320))

    @validates_schema
    def _one_key(self, data, **_kwargs):
        if len(data) != 1:
            raise ValidationError("Give exactly one of username or email.", "_schema")


class DeviceQuerySchema(Schema):
    """GET /v1/support/devices: the product and the device ID as the product computes it."""

    product = fields.String(required=True, validate=validate.Length(1, 64))
    fingerprint = fields.String(required=True, validate=validate.Length(16, 512))


class CodeInputSchema(Schema):
    """POST .../licenses/{id}/codes: how many days the code stays valid (default 30)."""

    days = fields.Integer(validate=validate.Range(1, 365))


class CodeOutputSchema(Schema):
    """A fresh single-use activation code, shown once."""

    code = fields.String(required=True)
    expires_at = fields.String(required=True, metadata={"format": "date-time"})


class LicenseSummarySchema(Schema):
    """A license as a support answer lists it."""

    id = fields.String(required=True)
    product = fields.String(required=True)
    kind = fields.String(required=True)
    status = fields.String(required=True)
    seats = fields.Integer(required=True)
    seats_used = fields.Integer(required=True)
    expires_at = fields.String(required=True, **_TIME)


class SupportAccountSchema(Schema):
    """An account, minimised: the email masked as j***@example.com."""

    id = fields.String(required=True)
    username = fields.String(required=True)
    email = fields.String(required=True, allow_none=True)
    country = fields.String(required=True, allow_none=True)
    restricted = fields.Boolean(required=True)
    licenses = fields.List(fields.Nested(LicenseSummarySchema), required=True)


class AccountListSchema(Schema):
    accounts = fields.List(fields.Nested(SupportAccountSchema), required=True)


class ActivationSummarySchema(Schema):
    """An activation without pseudonym, device key, IP prefix or fingerprint."""

    id = fields.String(required=True)
    device_name = fields.String(required=True, allow_none=True)
    platform = fields.String(required=True, allow_none=True)
    country = fields.String(required=True, allow_none=True)
    offline = fields.Boolean(required=True)
    activated_at = fields.String(required=True, **_TIME)
    last_refresh_at = fields.String(required=True, **_TIME)
    released_at = fields.String(required=True, **_TIME)


class DeviceActivationSchema(ActivationSummarySchema):
    license = fields.String(required=True)


class DeviceListSchema(Schema):
    activations = fields.List(fields.Nested(DeviceActivationSchema), required=True)


class HolderSchema(Schema):
    id = fields.String(required=True)
    username = fields.String(required=True, allow_none=True)
    restricted = fields.Boolean(required=True)


class SupportLicenseSchema(LicenseSummarySchema):
    """A license with its holder and every activation."""

    starts_at = fields.String(required=True, **_TIME)
    account = fields.Nested(HolderSchema, required=True)
    activations = fields.List(fields.Nested(ActivationSummarySchema), required=True)


class ReleaseOutputSchema(Schema):
    """The released activation."""

    activation_id = fields.String(required=True)
    released_at = fields.String(required=True, metadata={"format": "date-time"})
