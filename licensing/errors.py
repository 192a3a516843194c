"""Domain errors of the licensing package, one per API error code."""

from privacy.errors import NotFound, ServiceError, Unavailable, ValidationFailed

__all__ = ["NotFound", "ServiceError", "Unavailable", "ValidationFailed"]


class MalformedJson(ServiceError):
    code, status, message = "MALFORMED_JSON", 400, "The body is not valid JSON."


class InvalidCredentials(ServiceError):
    code, status, message = "INVALID_CREDENTIALS", 401, "Unknown username or wrong password."


class InvalidActivationCode(ServiceError):
    code, status = "INVALID_ACTIVATION_CODE", 401
    message = "The activation code is unknown, expired or already used."


class InvalidProof(ServiceError):
    code, status, message = "INVALID_PROOF", 401, "The DPoP proof is not acceptable."


class Unauthenticated(ServiceError):
    code, status, message = "UNAUTHENTICATED", 401, "A valid token is required."


class Forbidden(ServiceError):
    code, status, message = "FORBIDDEN", 403, "Your role does not allow this."


class LicenseExpired(ServiceError):
    code, status, message = "LICENSE_EXPIRED", 403, "The license is not valid at this time."


class LicenseSuspended(ServiceError):
    code, status, message = "LICENSE_SUSPENDED", 403, "The license is suspended."


class LicenseRevoked(ServiceError):
    code, status, message = "LICENSE_REVOKED", 403, "The license has been revoked."


class AccountRestricted(ServiceError):
    code, status = "ACCOUNT_RESTRICTED", 403
    message = "Processing of this account is restricted at the account holder's request."


class NoLicenseForProduct(ServiceError):
    code, status, message = "NO_LICENSE_FOR_PRODUCT", 404, "No license for this product."


class SeatLimitReached(ServiceError):
    code, status = "SEAT_LIMIT_REACHED", 409

    def __init__(self, seats: int):
        super().__init__(f"All {seats} seats of this license are in use.")


class Conflict(ServiceError):
    code, status, message = "CONFLICT", 409, "The resource already exists."


class ActivationReleased(ServiceError):
    code, status, message = "ACTIVATION_RELEASED", 410, "This activation has been released."


class PayloadTooLarge(ServiceError):
    code, status, message = "PAYLOAD_TOO_LARGE", 413, "The body is larger than 64 KiB."


class UnsupportedMediaType(ServiceError):
    code, status, message = "UNSUPPORTED_MEDIA_TYPE", 415, "Send application/json."


class RateLimited(ServiceError):
    code, status, message = "RATE_LIMITED", 429, "Too many attempts; try again later."

    def __init__(self, retry_after: int):
        super().__init__(headers={"Retry-After": str(max(1, int(retry_after)))})


LICENSE_STATE_ERRORS = {
    "expired": LicenseExpired,
    "suspended": LicenseSuspended,
    "revoked": LicenseRevoked,
}
