"""The edge's schema helpers: validated loading and the one error body (edge only)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields

from core.errors import ValidationFailed


def text_values(value):
    """Every string inside VALUE (keys included), however deeply nested."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def load(schema: Schema, data: dict) -> dict:
    """Validate DATA with SCHEMA; unknown fields are refused, and so is NUL in any text."""
    # PostgreSQL text cannot hold NUL; refuse it here rather than fail in the driver.
    with_nul = [key for key, item in data.items() if any("\x00" in s for s in text_values(item))]
    if with_nul:
        raise ValidationFailed(errors={key: ["Text may not contain NUL characters."]
                                       for key in with_nul})
    try:
        return schema.load(data)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        raise ValidationFailed(errors=messages) from exc


class ApiErrorSchema(Schema):
    """The one error body."""

    code = fields.String(required=True)
    message = fields.String(required=True)
    errors = fields.Dict(required=True)
