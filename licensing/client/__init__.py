"""Tessera desktop client: device key, DPoP proofs, leases, offline activation.

Needs only ``cryptography``, ``PyJWT``, ``requests`` and the standard library,
so a desktop product can ship this package alone.
"""

from .api import RetryPolicy, ServiceResponse, TesseraApi
from .client import LicenseClient
from .clock import DEFAULT_CLOCK_TOLERANCE, check_clock
from .dpop import make_proof, proof_target_uri
from .errors import (
    AccountRestricted,
    ActivationReleased,
    ClientError,
    ClockTampered,
    ExportRestricted,
    FingerprintUnavailable,
    InvalidActivationCode,
    InvalidCredentials,
    InvalidProof,
    KeyFileInsecure,
    LeaseAlgorithmRefused,
    LeaseExpired,
    LeaseHeaderRefused,
    LeaseInvalid,
    LeaseMalformed,
    LeaseNotForThisDevice,
    LeaseNotForThisProduct,
    LeaseNotYetValid,
    LeaseSignatureInvalid,
    LeaseTypeRefused,
    LeaseWrongIssuer,
    LicenseError,
    LicenseExpired,
    LicenseFileInvalid,
    LicenseRevoked,
    LicenseSuspended,
    LocalStateError,
    NoLicenseForProduct,
    NotActivated,
    NotFound,
    OfflineFileInvalid,
    OfflineRequestInvalid,
    ProtocolError,
    RateLimited,
    SeatLimitReached,
    ServiceUnreachable,
    TransientServiceError,
    Unavailable,
    UnknownSigningKey,
)
from .fingerprint import default_fingerprint, derive_fingerprint, read_machine_id
from .jwk import jwk_thumbprint, public_jwk
from .keys import DeviceKey, FileKeyStore, KeyStore, MemoryKeyStore, load_or_create_device_key
from .lease import Lease, LeaseVerifier
from .offline import (
    ActivationRequest,
    LicenseFile,
    build_activation_request,
    build_license_file,
    parse_activation_request,
    parse_license_file,
)
from .state import LicenseState, StateStore
from .status import LicenseStatus

__all__ = [name for name in dir() if not name.startswith("_")]
