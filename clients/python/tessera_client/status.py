"""A summary of the local licence that needs no network to compute."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .clock import to_rfc3339
from .lease import Lease
from .state import LicenseState


@dataclass(frozen=True)
class LicenseStatus:
    """Whether this device may run the product now, and why (not)."""

    product: str
    activated: bool
    valid: bool
    reason: str | None = None
    message: str | None = None
    activation_id: str | None = None
    license_id: str | None = None
    kind: str | None = None
    entitlements: tuple[str, ...] = field(default_factory=tuple)
    lease_expires_at: int | None = None
    refresh_after: int | None = None
    refresh_due: bool = False
    license_expires_at: int | None = None
    server_url: str | None = None
    offline: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return the status as JSON-ready data with RFC 3339 times."""
        return {
            "product": self.product,
            "activated": self.activated,
            "valid": self.valid,
            "reason": self.reason,
            "message": self.message,
            "activation_id": self.activation_id,
            "license_id": self.license_id,
            "kind": self.kind,
            "entitlements": list(self.entitlements),
            "lease_expires_at": to_rfc3339(self.lease_expires_at),
            "refresh_after": to_rfc3339(self.refresh_after),
            "refresh_due": self.refresh_due,
            "license_expires_at": to_rfc3339(self.license_expires_at),
            "server_url": self.server_url,
            "offline": self.offline,
        }


def valid_status(state: LicenseState, lease: Lease, now: float) -> LicenseStatus:
    """Describe a state whose lease verified."""
    details = state.license or {}
    return LicenseStatus(
        product=state.product,
        activated=True,
        valid=True,
        activation_id=lease.activation_id,
        license_id=lease.license_id or _text(details.get("id")),
        kind=_text(details.get("kind")),
        # The signed claims, not the unsigned display copy, decide entitlements.
        entitlements=lease.entitlements,
        lease_expires_at=lease.expires_at,
        refresh_after=lease.refresh_after,
        refresh_due=lease.refresh_due(now),
        license_expires_at=lease.license_expires_at,
        server_url=state.server_url,
        offline=state.offline,
    )


def invalid_status(
    state: LicenseState | None, product: str, reason: str, message: str
) -> LicenseStatus:
    """Describe a state that must not run the product."""
    details = (state.license if state else None) or {}
    return LicenseStatus(
        product=product,
        activated=bool(state and state.activation_id),
        valid=False,
        reason=reason,
        message=message,
        activation_id=state.activation_id if state else None,
        license_id=_text(details.get("id")),
        kind=_text(details.get("kind")),
        server_url=state.server_url if state else None,
        offline=bool(state and state.offline),
        # Refreshing is the way out of an expired or unknown-key lease.
        refresh_due=bool(state and state.activation_id),
    )


def _text(value: Any) -> str | None:
    """Keep a display value only when it is text."""
    return value if isinstance(value, str) else None
