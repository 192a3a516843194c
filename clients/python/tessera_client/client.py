"""LicenseClient: activation, refresh, deactivation and the offline licence gate."""

from __future__ import annotations

import os
import platform as platform_module
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from . import errors
from .api import RetryPolicy, ServiceResponse, TesseraApi
from .clock import DEFAULT_CLOCK_TOLERANCE, latest_seen, to_rfc3339
from .fingerprint import default_fingerprint, read_machine_id, validate_fingerprint
from .jwk import merge_jwks, validate_jwks
from .keys import (
    KEY_FILE_NAME,
    DeviceKey,
    FileKeyStore,
    KeyStore,
    load_or_create_device_key,
)
from .lease import Lease, LeaseVerifier
from .offline import build_activation_request, parse_license_file
from .state import LicenseState, StateStore
from .status import LicenseStatus, invalid_status, valid_status

# Refusals after which the lease in hand must not be honoured any longer.
LEASE_WITHDRAWN = (errors.LicenseRevoked, errors.LicenseSuspended)


class LicenseClient:
    """The licence of one product on this device, kept in one state directory."""

    def __init__(
        self,
        product: str,
        state_dir: str | os.PathLike[str],
        *,
        server_url: str | None = None,
        key_store: KeyStore | None = None,
        fingerprint: str | None = None,
        jwks: dict[str, Any] | None = None,
        issuer: str | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        clock_tolerance: float = DEFAULT_CLOCK_TOLERANCE,
        machine_id_reader: Callable[[], str] = read_machine_id,
        allow_insecure_http: bool = False,
    ) -> None:
        self.product = product
        self.state_store = StateStore(state_dir)
        self.key_store = key_store or FileKeyStore(Path(state_dir) / KEY_FILE_NAME)
        self.server_url = server_url
        self.fingerprint = validate_fingerprint(fingerprint) if fingerprint is not None else None
        self.shipped_jwks = jwks
        self.issuer = issuer
        self.clock = clock or time.time
        self.clock_tolerance = clock_tolerance
        self.machine_id_reader = machine_id_reader
        self._api_options = {
            "session": session,
            "retry": retry,
            "clock": clock,
            "sleep": sleep,
            "allow_insecure_http": allow_insecure_http,
        }
        self._api: TesseraApi | None = None
        self._device_key: DeviceKey | None = None

    def __enter__(self) -> LicenseClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the HTTP session."""
        if self._api is not None:
            self._api.close()
            self._api = None

    @property
    def device_key(self) -> DeviceKey:
        """This device's key, made on first use."""
        if self._device_key is None:
            self._device_key = load_or_create_device_key(self.key_store)
        return self._device_key

    # --- online -------------------------------------------------------------

    def activate(
        self,
        *,
        username: str | None = None,
        password: str | None = None,
        activation_code: str | None = None,
        device_name: str | None = None,
        platform: str | None = None,
    ) -> LicenseStatus:
        """Take (or re-take) a seat for this device and install its lease."""
        body = self._activation_body(username, password, activation_code, device_name, platform)
        state = self._state_for_product()
        if state.activation_id and state.offline:
            raise errors.LocalStateError(
                "this device holds an offline licence; deactivate it first"
            )
        api = self._service(state)
        response = api.activate(body)
        state.server_url = api.server_url
        state.fingerprint = body["fingerprint"]
        state.issuer = self.issuer or state.issuer
        self._install(state, response, api)
        return self.status()

    def refresh(self, *, force: bool = False) -> bool:
        """Get a new lease when one is due (or when forced); True if one was installed."""
        state = self._active_state()
        if not force and not self._refresh_due():
            return False
        api = self._service(state)
        try:
            response = api.refresh(state.activation_id, client_time=to_rfc3339(self.clock()))
        except errors.ActivationReleased:
            state.forget_activation()  # the seat is gone; the lease goes with it
            self.state_store.save(state)
            raise
        except LEASE_WITHDRAWN as exc:
            state.lease = None
            state.refused = {"code": exc.code, "message": exc.message}
            self.state_store.save(state)
            raise
        self._install(state, response, api)
        return True

    def deactivate(self) -> bool:
        """Free this device's seat and forget the lease; False if there was nothing to free."""
        state = self._state_for_product()
        if state.activation_id is None:
            return False
        try:
            self._service(state).deactivate(state.activation_id)
        except (errors.NotFound, errors.ActivationReleased):
            pass  # already gone on the service: the goal is reached
        state.forget_activation()
        self.state_store.save(state)
        return True

    def check(self) -> LicenseStatus:
        """The product's start-up gate: verify offline, refresh when due, keep working offline."""
        state = self.state_store.load()
        online = (
            state is not None
            and state.product == self.product
            and (state.server_url or self.server_url)
        )
        if online and state.activation_id:
            try:
                self.refresh()
            except (
                errors.ServiceUnreachable,
                errors.ProtocolError,
                errors.LicenseError,
                errors.LeaseInvalid,
            ):
                # Offline or refused: the lease in hand carries us until exp, and
                # refusals that withdraw it were recorded in the state already.
                pass
        return self.status(online=True)

    # --- offline ------------------------------------------------------------

    def verify(self, *, online: bool = False) -> Lease:
        """Return the verified lease or raise LeaseInvalid / NotActivated."""
        state = self.state_store.load()
        if state is None or state.product != self.product or not state.activation_id:
            raise errors.NotActivated(f"{self.product} is not activated on this device")
        if state.refused:
            raise errors.LeaseWithdrawn(
                state.refused.get("message", ""), code=state.refused.get("code")
            )
        if not state.lease:
            raise errors.NotActivated("no lease on this device; refresh or activate")
        fetch = (
            self._service(state).fetch_jwks
            if online and (state.server_url or self.server_url)
            else None
        )
        verifier = self._verifier(state, fetch)
        lease = verifier.verify(state.lease, now=self.clock(), last_seen=state.last_seen)
        if verifier.jwks_changed:
            state.jwks = verifier.jwks
            self.state_store.save(state)
        return lease

    def status(self, *, online: bool = False) -> LicenseStatus:
        """Describe the local licence; with online=False this never touches the network."""
        state = self.state_store.load()
        if state is not None and state.product != self.product:
            state = None
        try:
            lease = self.verify(online=online)
        except (errors.NotActivated, errors.LeaseInvalid) as exc:
            return invalid_status(state, self.product, exc.code, exc.message)
        return valid_status(state, lease, self.clock())

    def offline_request(
        self, *, device_name: str | None = None, platform: str | None = None
    ) -> str:
        """Return the text of an offline activation request for this device."""
        state = self._state_for_product()
        state.fingerprint = self._fingerprint()
        self.state_store.save(state)
        return build_activation_request(
            self.device_key.private_key,
            product=self.product,
            fingerprint=state.fingerprint,
            issued_at=int(self.clock()),
            device_name=device_name,
            platform=platform if platform is not None else default_platform(),
        )

    def offline_import(self, text: str) -> LicenseStatus:
        """Verify a licence file against already-trusted keys, with no network, and install it."""
        license_file = parse_license_file(text)
        state = self._state_for_product()
        if state.activation_id and not state.offline:
            raise errors.LocalStateError(
                "this device holds an online activation; deactivate it first"
            )
        # The keys inside the file are not trusted: anyone can write a file.
        verifier = self._verifier(state, fetch=None)
        if verifier.jwks is None:
            raise errors.UnknownSigningKey(
                "no trusted signing keys on this device; pass the vendor's JWKS (jwks=, --jwks)"
            )
        lease = verifier.verify(license_file.lease, now=self.clock(), last_seen=state.last_seen)
        state.activation_id = lease.activation_id
        state.lease = lease.token
        state.license = license_file.license
        state.jwks = verifier.jwks
        state.offline, state.refused = True, None
        state.last_seen = latest_seen(state.last_seen, lease.issued_at)
        self.state_store.save(state)
        return self.status()

    # --- helpers ------------------------------------------------------------

    def _activation_body(
        self,
        username: str | None,
        password: str | None,
        activation_code: str | None,
        device_name: str | None,
        platform: str | None,
    ) -> dict[str, Any]:
        """Build the activation request body from exactly one kind of credential."""
        if bool(activation_code) == bool(username):
            raise ValueError("give either username and password or an activation code")
        body: dict[str, Any] = {"product": self.product, "fingerprint": self._fingerprint()}
        if activation_code:
            body["activation_code"] = activation_code
        else:
            if not password:
                raise ValueError("a password is needed with a username")
            body.update(username=username, password=password)
        if device_name:
            body["device_name"] = device_name
        body["platform"] = platform if platform is not None else default_platform()
        return body

    def _install(self, state: LicenseState, response: ServiceResponse, api: TesseraApi) -> Lease:
        """Verify a lease the service just issued and save it with the state."""
        body = response.body
        token, activation_id = body.get("lease"), body.get("activation_id")
        if not isinstance(token, str) or not isinstance(activation_id, str):
            raise errors.ProtocolError("service answer carries no lease or activation id")
        last_seen = latest_seen(state.last_seen, response.server_time)
        verifier = self._verifier(state, api.fetch_jwks)
        if verifier.jwks is None:
            # First activation: pin the service's keys; one fetch is all we get.
            verifier.jwks, verifier.jwks_changed = _published_keys(api), True
            verifier.fetch_jwks = None
        lease = verifier.verify(token, now=self.clock(), last_seen=last_seen)
        if lease.activation_id != activation_id:
            raise errors.ProtocolError("lease was issued for another activation")
        state.activation_id, state.lease, state.refused, state.offline = (
            activation_id,
            token,
            None,
            False,
        )
        state.license = (
            body.get("license") if isinstance(body.get("license"), dict) else state.license
        )
        if verifier.jwks_changed or state.jwks is None:
            state.jwks = verifier.jwks  # pin what verified this lease
        state.last_seen = latest_seen(last_seen, lease.issued_at)
        self.state_store.save(state)
        return lease

    def _verifier(
        self, state: LicenseState, fetch: Callable[[], dict[str, Any]] | None
    ) -> LeaseVerifier:
        """Build a verifier for this product and device over the trusted keys."""
        return LeaseVerifier(
            product=self.product,
            device_thumbprint=self._existing_device_key().thumbprint,
            jwks=merge_jwks(state.jwks, self.shipped_jwks),
            issuer=self.issuer or state.issuer,
            fetch_jwks=fetch,
            clock_tolerance=self.clock_tolerance,
        )

    def _refresh_due(self) -> bool:
        """Tell whether the lease should be renewed now (also when it no longer verifies)."""
        try:
            return self.verify().refresh_due(self.clock())
        except (errors.LeaseInvalid, errors.NotActivated):
            return True

    def _existing_device_key(self) -> DeviceKey:
        """The device key, without making one: a lease needs the key it was bound to."""
        if self._device_key is None:
            pem = self.key_store.load()
            if pem is None:
                raise errors.LeaseNotForThisDevice(
                    "this device has no key; the lease cannot be its own"
                )
            self._device_key = DeviceKey.from_pem(pem)
        return self._device_key

    def _service(self, state: LicenseState | None) -> TesseraApi:
        """Return the HTTP client for the configured or remembered server."""
        server_url = self.server_url or (state.server_url if state else None)
        if not server_url:
            raise errors.LocalStateError(
                "no licence server known for this device; give its URL (server_url, --server)"
            )
        if self._api is None or self._api.server_url != server_url.rstrip("/"):
            self.close()
            self._api = TesseraApi(server_url, self.device_key, **self._api_options)
        return self._api

    def _state_for_product(self) -> LicenseState:
        """Load the state, or start one; refuse a directory used by another product."""
        state = self.state_store.load()
        if state is None:
            return LicenseState(product=self.product)
        if state.product != self.product:
            raise errors.LocalStateError(
                f"{self.state_store.directory} holds the state of {state.product}"
            )
        return state

    def _active_state(self) -> LicenseState:
        """Load the state of an activation that exists."""
        state = self._state_for_product()
        if not state.activation_id:
            raise errors.NotActivated(f"{self.product} is not activated on this device")
        return state

    def _fingerprint(self) -> str:
        """The fingerprint given by the caller, else the one derived from the machine id."""
        return self.fingerprint or default_fingerprint(self.product, self.machine_id_reader)


def _published_keys(api: TesseraApi) -> dict[str, Any]:
    """Fetch the service's JWKS and check it can verify anything at all."""
    try:
        return validate_jwks(api.fetch_jwks())
    except ValueError as exc:
        raise errors.ProtocolError(f"service published unusable keys: {exc}") from exc


def default_platform() -> str:
    """Describe the operating system and CPU without anything personal."""
    return f"{platform_module.system()}-{platform_module.machine()}".lower()[:32]
