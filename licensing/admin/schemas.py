"""Request and response schemas of the admin API, and of its twin `flask admin` (edge only).

`flask admin create-account` and `issue-license` validate with the same input
schemas, so the CLI accepts exactly what the API would.
"""

from __future__ import annotations

import pycountry
from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from licensing.accounts.passwords import password_problems

from licensing.catalog.models import FINGERPRINT_MATCHES, LICENSE_KINDS, SEAT_MODES
from licensing.support.models import STAFF_ROLES

_TIME = {"metadata": {"format": "date-time"}}


def _trimmed(value: str) -> None:
    if value != value.strip():
        raise ValidationError("No leading or trailing spaces.")


def _acceptable_password(value: str) -> None:
    problems = password_problems(value)
    if problems:
        raise ValidationError(problems)


def _iso_country(value: str) -> None:
    if len(value) != 2 or pycountry.countries.get(alpha_2=value.upper()) is None:
        raise ValidationError("An ISO 3166-1 alpha-2 country code, such as BE.")


class ProductInputSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(1, 64))
    name = fields.String(required=True, validate=validate.Length(1, 200))
    fingerprint_match = fields.String(validate=validate.OneOf(FINGERPRINT_MATCHES))


class ProductSchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    fingerprint_match = fields.String(required=True)


class AccountInputSchema(Schema):
    """A new Customer Area account (POST /v1/admin/accounts, `flask admin create-account`).

    Without a password the account is reached by activation codes until one is set.
    """

    username = fields.String(required=True, validate=[validate.Length(1, 150), _trimmed])
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(load_only=True, validate=_acceptable_password)
    name = fields.String(allow_none=True, validate=validate.Length(max=200))
    company = fields.String(allow_none=True, validate=validate.Length(max=200))
    country = fields.String(allow_none=True, validate=_iso_country)

    @post_load
    def _upper_country(self, data, **kwargs):
        if data.get("country"):
            data["country"] = data["country"].upper()
        return data


class AccountSchema(Schema):
    id = fields.String(required=True)
    username = fields.String(required=True)
    email = fields.String(required=True, allow_none=True)
    name = fields.String(required=True, allow_none=True)
    company = fields.String(required=True, allow_none=True)
    country = fields.String(required=True, allow_none=True)
    created_at = fields.String(required=True, **_TIME)


class LicenseInputSchema(Schema):
    """A new license (POST /v1/admin/licenses, `flask admin issue-license`)."""

    account = fields.String(required=True, validate=validate.Length(1, 150),
                            metadata={"description": "account id (acc_...) or username"})
    product = fields.String(required=True, validate=validate.Length(1, 64))
    kind = fields.String(required=True, validate=validate.OneOf(LICENSE_KINDS))
    seats = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    days = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=1))
    entitlements = fields.List(fields.String(validate=validate.Length(1, 64)),
                               validate=validate.Length(max=64))
    seat_mode = fields.String(validate=validate.OneOf(SEAT_MODES))
    lease_seconds = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=30))
    max_borrow_seconds = fields.Integer(allow_none=True, strict=True,
                                        validate=validate.Range(min=60))
    grace_seconds = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=0))
    offline_lease_seconds = fields.Integer(allow_none=True, strict=True,
                                           validate=validate.Range(min=60))

    @validates_schema
    def _no_term_on_perpetual(self, data, **kwargs):
        # Silently dropping days would issue something other than what was asked for.
        if data.get("kind") == "perpetual" and data.get("days") is not None:
            raise ValidationError("A perpetual license has no term: leave days out, or "
                                  "choose kind subscription or trial.", "days")


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
    seat_mode = fields.String(required=True)
    max_borrow_seconds = fields.Integer(required=True)


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
