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
