"""The one error base every domain error derives from."""


class ServiceError(Exception):
    """A domain failure with a stable API code and HTTP status."""

    code = "INTERNAL_ERROR"
    status = 500
    message = "The request could not be completed."

    def __init__(self, message: str | None = None, *, errors: dict | None = None,
                 headers: dict | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.errors = errors or {}
        self.headers = headers or {}

    def body(self) -> dict:
        """Return the API error body."""
        return {"code": self.code, "message": self.message, "errors": self.errors}


class ValidationFailed(ServiceError):
    code, status, message = "VALIDATION_FAILED", 400, "The request is not valid."


class Unavailable(ServiceError):
    code, status, message = "UNAVAILABLE", 503, "The service is unavailable; try again."


class NotFound(ServiceError):
    code, status, message = "NOT_FOUND", 404, "Not found."


class MalformedJson(ServiceError):
    code, status, message = "MALFORMED_JSON", 400, "The body is not valid JSON."


class Unauthenticated(ServiceError):
    code, status, message = "UNAUTHENTICATED", 401, "A valid token is required."


class Forbidden(ServiceError):
    code, status, message = "FORBIDDEN", 403, "Your role does not allow this."


class Conflict(ServiceError):
    code, status, message = "CONFLICT", 409, "The resource already exists."


class PayloadTooLarge(ServiceError):
    code, status, message = "PAYLOAD_TOO_LARGE", 413, "The body is larger than 64 KiB."


class UnsupportedMediaType(ServiceError):
    code, status, message = "UNSUPPORTED_MEDIA_TYPE", 415, "Send application/json."


class RateLimited(ServiceError):
    code, status, message = "RATE_LIMITED", 429, "Too many attempts; try again later."

    def __init__(self, retry_after: int):
        super().__init__(headers={"Retry-After": str(max(1, int(retry_after)))})
