"""Request and response schemas of the admin API (marshmallow, edge only)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from licensing.catalog.models import LICENSE_KINDS
from licensing.support.models import STAFF_ROLES

_TIME = {"metadata": {"format": "date-time"}}


class ProductInputSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(1, 64))
    name = fields.String(required=True, validate=validate.Length(1, 200))


class ProductSchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)


class AccountInputSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(1, 150))
    email = fields.Email(required=True, validate=validate.Length(3, 320))
    password = fields.String(validate=validate.Length(1, 1024), load_only=True)
    name = fields.String(validate=validate.Length(1, 200))
    company = fields.String(validate=validate.Length(1, 200))
    country = fields.String(validate=validate.Regexp(r"^[A-Za-z]{2}$"))


class AccountSchema(Schema):
    id = fields.String(required=True)
    username = fields.String(required=True)
    email = fields.String(required=True, allow_none=True)
    name = fields.String(required=True, allow_none=True)
    company = fields.String(required=True, allow_none=True)
    country = fields.String(required=True, allow_none=True)
    created_at = fields.String(required=True, **_TIME)


class LicenseInputSchema(Schema):
    account = fields.String(required=True, validate=validate.Length(1, 150),
                            metadata={"description": "account id (acc_...)"})
    product = fields.String(required=True, validate=validate.Length(1, 64))
    kind = fields.String(required=True, validate=validate.OneOf(LICENSE_KINDS))
    seats = fields.Integer(required=True, validate=validate.Range(min=1))
    days = fields.Integer(validate=validate.Range(min=1))
    entitlements = fields.List(fields.String(validate=validate.Length(1, 64)),
                               validate=validate.Length(max=64))
    lease_seconds = fields.Integer(validate=validate.Range(min=60))
    grace_seconds = fields.Integer(validate=validate.Range(min=0))
    offline_lease_seconds = fields.Integer(validate=validate.Range(min=60))


class LicenseSchema(Schema):
    id = fields.String(required=True)
    account = fields.String(required=True)
    product = fields.String(required=True)
    kind = fields.String(required=True)
    status = fields.String(required=True)
    seats = fields.Integer(required=True)
    starts_at = fields.String(required=True, **_TIME)
    expires_at = fields.String(required=True, allow_none=True, **_TIME)
    entitlements = fields.List(fields.String(), required=True)
    lease_seconds = fields.Integer(required=True)
    grace_seconds = fields.Integer(required=True)
    offline_lease_seconds = fields.Integer(required=True)


class RenewInputSchema(Schema):
    days = fields.Integer(required=True, validate=validate.Range(1, 3650))


class EmptySchema(Schema):
    """No fields: `{}` or no body at all."""


class StaffInputSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 120))
    role = fields.String(required=True, validate=validate.OneOf(STAFF_ROLES))
    password = fields.String(validate=validate.Length(1, 1024), load_only=True)


class StaffSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)
    totp = fields.Boolean(required=True)
    created_at = fields.String(required=True, **_TIME)
    disabled_at = fields.String(required=True, allow_none=True, **_TIME)


class NewStaffSchema(StaffSchema):
    token = fields.String(required=True, metadata={"description": "shown once"})


class NewStaffTokenSchema(Schema):
    id = fields.Integer(required=True)
    staff = fields.Integer(required=True)
    token = fields.String(required=True, metadata={"description": "shown once"})


class StaffTokenSchema(Schema):
    id = fields.Integer(required=True)
    revoked_at = fields.String(required=True, allow_none=True, **_TIME)
