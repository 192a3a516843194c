"""Domain errors of the licensing package, one per API error code."""

from core.errors import (Conflict, Forbidden, MalformedJson, NotFound, PayloadTooLarge,
                         RateLimited, ServiceError, Unauthenticated, Unavailable,
                         UnsupportedMediaType, ValidationFailed)

# The generic errors are core's; they are named here too, so that the product's
# code reads every API error from one catalogue.
__all__ = ["Conflict", "Forbidden", "MalformedJson", "NotFound", "PayloadTooLarge", "RateLimited",
           "ServiceError", "Unauthenticated", "Unavailable", "UnsupportedMediaType",
           "ValidationFailed"]


class InvalidCredentials(ServiceError):
    code, status, message = "INVALID_CREDENTIALS", 401, "Unknown username or wrong password."


class InvalidActivationCode(ServiceError):
    code, status = "INVALID_ACTIVATION_CODE", 401
    message = "The activation code is unknown, expired or already used."


class InvalidProof(ServiceError):
    code, status, message = "INVALID_PROOF", 401, "The DPoP proof is not acceptable."


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


class ActivationReleased(ServiceError):
    code, status, message = "ACTIVATION_RELEASED", 410, "This activation has been released."


LICENSE_STATE_ERRORS = {
    "expired": LicenseExpired,
    "suspended": LicenseSuspended,
    "revoked": LicenseRevoked,
}
