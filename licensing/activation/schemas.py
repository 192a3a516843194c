"""Request and response schemas of the desktop protocol (marshmallow, edge only)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.database import rfc3339


class DeviceFields(Schema):
    """What a device says about itself when it activates."""

    product = fields.String(required=True, validate=validate.Length(1, 64))
    fingerprint = fields.String(required=True, validate=validate.Length(16, 512))
    device_name = fields.String(validate=validate.Length(max=64))
    platform = fields.String(validate=validate.Length(max=32))


class PasswordFields(Schema):
    """Customer Area credentials."""

    username = fields.String(required=True, validate=validate.Length(1, 150))
    password = fields.String(required=True, validate=validate.Length(1, 1024), load_only=True)


class CodeFields(Schema):
    """A single-use activation code."""

    activation_code = fields.String(required=True, validate=validate.Length(1, 128),
                                    load_only=True)


class ActivationInputSchema(DeviceFields):
    """POST /v1/activations: a device and either credentials or an activation code."""

    username = fields.String(validate=validate.Length(1, 150))
    password = fields.String(validate=validate.Length(1, 1024), load_only=True)
    activation_code = fields.String(validate=validate.Length(1, 128), load_only=True)

    @validates_schema
    def _one_way_to_authenticate(self, data, **kwargs):
        has_password = "username" in data or "password" in data
        if "activation_code" in data:
            if has_password:
                raise ValidationError("Give either username and password or activation_code.",
                                      "activation_code")
        elif not ("username" in data and "password" in data):
            raise ValidationError("username and password, or activation_code, are required.",
                                  "_schema")


class PasswordActivationSchema(DeviceFields, PasswordFields):
    """The OpenAPI form of an activation with username and password."""


class CodeActivationSchema(DeviceFields, CodeFields):
    """The OpenAPI form of an activation with an activation code."""


# The document states the either/or that ActivationInputSchema checks in code.
ACTIVATION_REQUEST = {"oneOf": [PasswordActivationSchema, CodeActivationSchema]}


class RefreshInputSchema(Schema):
    """POST /v1/activations/{id}/refresh."""

    client_time = fields.DateTime(format="iso")
    # Optional (added after v1): when sent, it must be the activation's device, and a seat
    # pseudonymised under an older key moves to the current one.
    fingerprint = fields.String(validate=validate.Length(16, 512), load_only=True, metadata={
        "description": "the device ID as at activation; optional, checked when present"})


class LicenseOutputSchema(Schema):
    """The license a seat belongs to, as the device sees it."""

    id = fields.String(required=True)
    product = fields.String(required=True)
    kind = fields.String(required=True)
    expires_at = fields.String(required=True, allow_none=True)
    entitlements = fields.List(fields.String(), required=True)
    seats = fields.Integer(required=True)
    seats_used = fields.Integer(required=True)


class ActivationOutputSchema(Schema):
    """An activation or refresh answer."""

    activation_id = fields.String(required=True)
    license = fields.Nested(LicenseOutputSchema, required=True)
    lease = fields.String(required=True)
    lease_expires_at = fields.String(required=True)
    refresh_after = fields.String(required=True)


def answer_for(result) -> dict:
    """The body of a successful activation or refresh (an ActivationResult)."""
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
