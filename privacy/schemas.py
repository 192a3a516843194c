"""Schemas of the privacy endpoints (edge only)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class DescribedSchema(Schema):
    key = fields.String(required=True)
    description = fields.String(required=True)


class ReportPeriodSchema(Schema):
    """A retention period as the subject is told it."""

    applies_to = fields.String(required=True)
    days = fields.Integer(required=True, allow_none=True)
    after = fields.String(required=True)
    action = fields.String(required=True)


class RetentionPeriodSchema(ReportPeriodSchema):
    """A retention period in the record of processing: with its key and enforcement."""

    key = fields.String(required=True)
    enforced_by_purge = fields.Boolean(required=True)


class RetentionSchema(Schema):
    summary = fields.String(required=True)
    periods = fields.List(fields.Nested(RetentionPeriodSchema), required=True)


class PurposeBasicsSchema(Schema):
    """What every description of a purpose states."""

    key = fields.String(required=True)
    description = fields.String(required=True)
    lawful_basis = fields.String(required=True)
    lawful_basis_text = fields.String(required=True)
    recipients = fields.List(fields.Nested(DescribedSchema), required=True)


class PurposeSchema(PurposeBasicsSchema):
    """One purpose of processing."""

    data_categories = fields.List(fields.Nested(DescribedSchema), required=True)
    data_subjects = fields.List(fields.Nested(DescribedSchema), required=True)
    retention = fields.Nested(RetentionSchema, required=True)
    policy_clause = fields.String(required=True)
    stored_in = fields.List(fields.String(), required=True)


class ControllerSchema(Schema):
    name = fields.String(required=True)
    contact = fields.String(required=True)


class RopaSchema(Schema):
    """GET /v1/privacy/ropa: the record of processing activities (GDPR Art 30)."""

    controller = fields.Nested(ControllerSchema, required=True)
    purposes = fields.List(fields.Nested(PurposeSchema), required=True)
    transfers = fields.String(required=True)
    security_measures = fields.List(fields.String(), required=True)


class AccessLogQuerySchema(Schema):
    """GET /v1/privacy/access-log query."""

    subject = fields.String(required=True, validate=validate.Length(1, 320), metadata={
        "description": "username, account id, email, or a subject pseudonym (64 hex)"})
    limit = fields.Integer(load_default=200, validate=validate.Range(1, 1000))


class AccessLogEntrySchema(Schema):
    """One recorded read of the subject's data."""

    occurred_at = fields.String(required=True)
    actor = fields.String(required=True)
    actor_role = fields.String(required=True)
    purpose = fields.String(required=True)
    action = fields.String(required=True)
    reason = fields.String(required=True)
    request_id = fields.String(allow_none=True)


class AccessLogSchema(Schema):
    """GET /v1/privacy/access-log: who read this subject's data, newest first."""

    subject = fields.String(required=True, metadata={"description": "the subject's pseudonym"})
    entries = fields.List(fields.Nested(AccessLogEntrySchema), required=True)


class SourcedCategorySchema(DescribedSchema):
    """A category of data and where it came from."""

    source = fields.String(required=True)


class ReportRetentionSchema(Schema):
    summary = fields.String(required=True)
    periods = fields.List(fields.Nested(ReportPeriodSchema), required=True)


class ReportPurposeSchema(PurposeBasicsSchema):
    """A purpose the subject's data is processed for, as the subject is told it."""

    data_categories = fields.List(fields.Nested(SourcedCategorySchema), required=True)
    retention = fields.Nested(ReportRetentionSchema, required=True)
    policy_clause = fields.String(required=True)


class SubjectSchema(Schema):
    kind = fields.String(required=True)
    id = fields.String(required=True)


class ReportAccessSchema(Schema):
    """A read of the subject's data by staff: role, purpose and action, not the person."""

    occurred_at = fields.String(required=True)
    actor_role = fields.String(required=True)
    purpose = fields.String(required=True)
    action = fields.String(required=True)


class SubjectAccessReportSchema(Schema):
    """The subject-access and portability report (GDPR Art 15, 20)."""

    subject = fields.Nested(SubjectSchema, required=True)
    generated_at = fields.String(required=True)
    controller = fields.Nested(ControllerSchema, required=True)
    # Each provider exports its own shape; this field must not walk ten thousand seats.
    data = fields.Dict(keys=fields.String(), values=fields.Dict(), required=True, metadata={
        "description": "each personal-data provider's export of the subject's data, by name"})
    access_log = fields.List(fields.Nested(ReportAccessSchema), required=True)
    requests = fields.List(fields.Dict(), required=True, metadata={
        "description": "your data-protection requests, their deadlines and outcomes"})
    consents = fields.List(fields.Dict(), required=True, metadata={
        "description": "every consent given or withdrawn, with its time and policy version"})
    notices = fields.List(fields.Dict(), required=True)
    objections = fields.List(fields.Dict(), required=True)
    disclosures = fields.List(fields.Dict(), required=True, metadata={
        "description": "disclosures of records about you: recipient category, time, "
                       "legal reference"})
    purposes = fields.List(fields.Nested(ReportPurposeSchema), required=True)
    recipients = fields.List(fields.Nested(DescribedSchema), required=True)
    transfers = fields.String(required=True)
    rights = fields.List(fields.String(), required=True)
