"""Errors of the legal-obligation engine."""

from core.errors import ServiceError


class DisclosureNotAllowed(ServiceError):
    code, status = "DISCLOSURE_NOT_ALLOWED", 403
    message = "The sharing matrix does not allow this disclosure."

