"""Schemas of the compliance endpoints (edge only): input and output apart."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from privacy.legal.models import (DISCLOSURE_STATUSES, RECIPIENT_CATEGORIES,
                                  RECORD_STATUSES)

_REASON = validate.Length(min=3, max=200)


class RecordQuerySchema(Schema):
    tag = fields.String(validate=validate.Length(max=40))
    kind = fields.String(validate=validate.Length(max=40))
    status = fields.String(validate=validate.OneOf(RECORD_STATUSES))


class RecordSchema(Schema):
    id = fields.String(required=True)
    kind = fields.String(required=True)
    tags = fields.List(fields.String(), required=True)
    lawful_basis = fields.String(required=True)
    subject = fields.String(required=True)
    license = fields.String(allow_none=True)
    country = fields.String(allow_none=True)
    evidence = fields.Dict(required=True)
    first_seen_at = fields.String(required=True)
    last_seen_at = fields.String(required=True)
    count = fields.Integer(required=True)
    status = fields.String(required=True)
    legal_hold = fields.Boolean(required=True)
    retain_until = fields.String(allow_none=True)


class RecordListSchema(Schema):
    records = fields.List(fields.Nested(RecordSchema), required=True)


class HoldInputSchema(Schema):
    hold = fields.Boolean(required=True)
    reason = fields.String(required=True, validate=_REASON)


class CloseInputSchema(Schema):
    reason = fields.String(required=True, validate=_REASON)


class RecipientInputSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    category = fields.String(required=True, validate=validate.OneOf(RECIPIENT_CATEGORIES))
    endpoint = fields.String(required=True, validate=validate.Length(min=8, max=500))


class RecipientSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    category = fields.String(required=True)
    endpoint = fields.String()


class DisclosureInputSchema(Schema):
    records = fields.List(fields.String(validate=validate.Length(min=1, max=40)),
                          required=True, validate=validate.Length(min=1, max=1000))
    recipient = fields.String(required=True, validate=validate.Length(min=1, max=40))
    legal_reference = fields.String(allow_none=True, validate=validate.Length(max=200))
    reidentify = fields.Boolean(load_default=False)


class DisclosureQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(DISCLOSURE_STATUSES))


class DisclosureSchema(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True)
    records = fields.List(fields.String(), required=True)
    recipient = fields.Nested(RecipientSchema, required=True)
    legal_reference = fields.String(allow_none=True)
    reidentify = fields.Boolean(required=True)
    created_by = fields.String(required=True)
    approved_by = fields.String(allow_none=True)
    created_at = fields.String(required=True)
    delivered_at = fields.String(allow_none=True)
    attempts = fields.Integer(required=True)
    last_error = fields.String(allow_none=True)


class DisclosureListSchema(Schema):
    disclosures = fields.List(fields.Nested(DisclosureSchema), required=True)
