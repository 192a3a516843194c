"""OpenAPI helpers shared by the blueprints."""

from __future__ import annotations

from licensing.schemas import ApiErrorSchema


def error_responses(blp, *statuses: int):
    """Document the one error body for each of STATUSES on a flask-smorest view."""
    def decorate(view):
        for status in statuses:
            view = blp.alt_response(status, schema=ApiErrorSchema, description="Error")(view)
        return view
    return decorate
