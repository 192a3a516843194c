"""Input schemas of the admin commands and their HTTP twins (marshmallow, edge only).

`flask admin create-account` and `issue-license` validate with these, so the
CLI accepts exactly what the API would.
"""

from __future__ import annotations

import pycountry
from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from licensing.accounts.passwords import password_problems
from licensing.catalog.models import LICENSE_KINDS


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


class AccountInputSchema(Schema):
    """A new Customer Area account (`flask admin create-account`, POST /v1/admin/accounts)."""

    username = fields.String(required=True, validate=[validate.Length(1, 150), _trimmed])
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, load_only=True, validate=_acceptable_password)
    name = fields.String(allow_none=True, validate=validate.Length(max=200))
    company = fields.String(allow_none=True, validate=validate.Length(max=200))
    country = fields.String(allow_none=True, validate=_iso_country)

    @post_load
    def _upper_country(self, data, **kwargs):
        if data.get("country"):
            data["country"] = data["country"].upper()
        return data


class LicenseInputSchema(Schema):
    """A new license (`flask admin issue-license`, POST /v1/admin/licenses)."""

    account = fields.String(required=True, validate=validate.Length(1, 150))
    product = fields.String(required=True, validate=validate.Length(1, 64))
    kind = fields.String(required=True, validate=validate.OneOf(LICENSE_KINDS))
    seats = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    days = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=1))
    entitlements = fields.List(fields.String(validate=validate.Length(1, 64)))
    lease_seconds = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=60))
    grace_seconds = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=0))
    offline_lease_seconds = fields.Integer(allow_none=True, strict=True,
                                           validate=validate.Range(min=60))

    @validates_schema
    def _no_term_on_perpetual(self, data, **kwargs):
        # Silently dropping --days would issue something other than what was asked for.
        if data.get("kind") == "perpetual" and data.get("days") is not None:
            raise ValidationError("A perpetual license has no term: leave days out, or "
                                  "choose kind subscription or trial.", "days")
