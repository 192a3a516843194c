"""Exceptions raised by the Tessera desktop client.

Everything the client raises on purpose derives from ``ClientError``, so a
product can catch one type at its licence gate. Each class carries a stable
``code`` so that logs, the CLI and support tickets name the same thing.
"""

from __future__ import annotations

from typing import Any


class ClientError(Exception):
    """Base of every error the client raises on purpose."""

    code = "CLIENT_ERROR"

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.code)
        self.message = message or self.code


# --- the service answered with an error body ---------------------------------


class LicenseError(ClientError):
    """The service refused the request with its error body."""

    code = "LICENSE_ERROR"

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        status: int | None = None,
        errors: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.status = status
        self.errors = errors or {}


class ValidationFailed(LicenseError):
    """The request did not match the service's schema."""

    code = "VALIDATION_FAILED"


class MalformedJson(LicenseError):
    """The service could not read the request body."""

    code = "MALFORMED_JSON"


class InvalidCredentials(LicenseError):
    """Unknown user or wrong password."""

    code = "INVALID_CREDENTIALS"


class InvalidActivationCode(LicenseError):
    """Unknown, expired or already redeemed activation code."""

    code = "INVALID_ACTIVATION_CODE"


class InvalidProof(LicenseError):
    """The DPoP proof was refused (clock skew, replay, or not this activation's key)."""

    code = "INVALID_PROOF"


class Unauthenticated(LicenseError):
    """A bearer token was missing or invalid."""

    code = "UNAUTHENTICATED"


class Forbidden(LicenseError):
    """The caller is authenticated but not allowed."""

    code = "FORBIDDEN"


class LicenseExpired(LicenseError):
    """The licence has ended."""

    code = "LICENSE_EXPIRED"


class LicenseSuspended(LicenseError):
    """The licence is suspended."""

    code = "LICENSE_SUSPENDED"


class LicenseRevoked(LicenseError):
    """The licence was revoked."""

    code = "LICENSE_REVOKED"


class ExportRestricted(LicenseError):
    """The request falls under an export restriction."""

    code = "EXPORT_RESTRICTED"


class AccountRestricted(LicenseError):
    """Processing for the account is restricted at the holder's request."""

    code = "ACCOUNT_RESTRICTED"


class NoLicenseForProduct(LicenseError):
    """The account holds no usable licence for this product."""

    code = "NO_LICENSE_FOR_PRODUCT"


class NotFound(LicenseError):
    """The resource (for example the activation) does not exist."""

    code = "NOT_FOUND"


class SeatLimitReached(LicenseError):
    """Every seat of every usable licence is taken."""

    code = "SEAT_LIMIT_REACHED"


class ActivationReleased(LicenseError):
    """The activation was deactivated or released by support."""

    code = "ACTIVATION_RELEASED"


class PayloadTooLarge(LicenseError):
    """The request body was over the service's limit."""

    code = "PAYLOAD_TOO_LARGE"


class UnsupportedMediaType(LicenseError):
    """The request had the wrong content type."""

    code = "UNSUPPORTED_MEDIA_TYPE"


class MethodNotAllowed(LicenseError):
    """The endpoint does not take this method."""

    code = "METHOD_NOT_ALLOWED"


class TransientServiceError(LicenseError):
    """The service is overloaded or failing; retried before this is raised."""

    code = "SERVICE_ERROR"


class RateLimited(TransientServiceError):
    """Too many requests; ``retry_after`` says when to come back."""

    code = "RATE_LIMITED"

    def __init__(
        self, message: str = "", *, retry_after: float | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class Unavailable(TransientServiceError):
    """The service or one of its dependencies is down."""

    code = "UNAVAILABLE"


class InternalServerError(TransientServiceError):
    """The service failed unexpectedly."""

    code = "INTERNAL_ERROR"


class ServiceUnreachable(ClientError):
    """No answer from the service: connection refused, DNS, TLS or timeout."""

    code = "SERVICE_UNREACHABLE"


class ProtocolError(ClientError):
    """The service answered something the contract does not allow."""

    code = "PROTOCOL_ERROR"


# --- the lease failed local verification -------------------------------------


class LeaseInvalid(ClientError):
    """The lease must not be honoured."""

    code = "LEASE_INVALID"


class LeaseWithdrawn(LeaseInvalid):
    """The service refused a refresh for good; ``code`` is its reason (e.g. LICENSE_REVOKED)."""

    code = "LEASE_WITHDRAWN"

    def __init__(self, message: str = "", *, code: str | None = None) -> None:
        super().__init__(message)
        if code:
            self.code = code


class LeaseMalformed(LeaseInvalid):
    """The lease is not a well-formed lease JWS."""

    code = "LEASE_MALFORMED"


class LeaseAlgorithmRefused(LeaseInvalid):
    """The lease names an algorithm other than EdDSA."""

    code = "LEASE_ALGORITHM_REFUSED"


class LeaseTypeRefused(LeaseInvalid):
    """The lease header ``typ`` is not ``lease+jwt``."""

    code = "LEASE_TYPE_REFUSED"


class LeaseHeaderRefused(LeaseInvalid):
    """The lease header tries to bring its own key or extensions."""

    code = "LEASE_HEADER_REFUSED"


class UnknownSigningKey(LeaseInvalid):
    """The lease ``kid`` is not among the trusted keys."""

    code = "UNKNOWN_SIGNING_KEY"


class LeaseSignatureInvalid(LeaseInvalid):
    """The lease signature does not verify."""

    code = "LEASE_SIGNATURE_INVALID"


class LeaseNotForThisProduct(LeaseInvalid):
    """The lease ``aud`` is another product."""

    code = "LEASE_NOT_FOR_THIS_PRODUCT"


class LeaseNotForThisDevice(LeaseInvalid):
    """The lease is bound to another device key."""

    code = "LEASE_NOT_FOR_THIS_DEVICE"


class LeaseWrongIssuer(LeaseInvalid):
    """The lease ``iss`` is not the configured issuer."""

    code = "LEASE_WRONG_ISSUER"


class LeaseNotYetValid(LeaseInvalid):
    """The lease ``nbf`` is in the future."""

    code = "LEASE_NOT_YET_VALID"


class LeaseExpired(LeaseInvalid):
    """The lease ``exp`` has passed."""

    code = "LEASE_EXPIRED"


class ClockTampered(LeaseInvalid):
    """The local clock is behind a time the service has already shown us."""

    code = "CLOCK_TAMPERED"


# --- local problems ----------------------------------------------------------


class NotActivated(ClientError):
    """There is no activation or lease on this device."""

    code = "NOT_ACTIVATED"


class LocalStateError(ClientError):
    """The local key or state cannot be used."""

    code = "LOCAL_STATE_ERROR"


class KeyFileInsecure(LocalStateError):
    """The device key file can be read by other users."""

    code = "KEY_FILE_INSECURE"


class FingerprintUnavailable(LocalStateError):
    """No machine id could be read; pass a fingerprint explicitly."""

    code = "FINGERPRINT_UNAVAILABLE"


class OfflineFileInvalid(ClientError):
    """An offline activation file cannot be used."""

    code = "OFFLINE_FILE_INVALID"


class LicenseFileInvalid(OfflineFileInvalid):
    """The licence file is malformed."""

    code = "LICENSE_FILE_INVALID"


# Server error codes that have their own class; anything else falls back by status.
SERVER_ERRORS: dict[str, type[LicenseError]] = {
    cls.code: cls
    for cls in (
        ValidationFailed,
        MalformedJson,
        InvalidCredentials,
        InvalidActivationCode,
        InvalidProof,
        Unauthenticated,
        Forbidden,
        LicenseExpired,
        LicenseSuspended,
        LicenseRevoked,
        ExportRestricted,
        AccountRestricted,
        NoLicenseForProduct,
        NotFound,
        SeatLimitReached,
        ActivationReleased,
        PayloadTooLarge,
        UnsupportedMediaType,
        MethodNotAllowed,
        RateLimited,
        Unavailable,
        InternalServerError,
    )
}
