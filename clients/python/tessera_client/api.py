"""HTTP calls to the Tessera service, each with a fresh DPoP proof."""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from . import errors
from .dpop import make_proof
from .keys import DeviceKey

log = logging.getLogger(__name__)

USER_AGENT = "tessera-client/1"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry transient failures."""

    attempts: int = 4  # total tries, first one included
    base_delay: float = 0.5
    max_delay: float = 8.0
    # Never wait longer than this for a Retry-After; give up instead.
    max_retry_after: float = 60.0


@dataclass(frozen=True)
class ServiceResponse:
    """A successful answer: status, JSON body and the service's clock."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)
    server_time: int | None = None


class TesseraApi:
    """The desktop endpoints of the Tessera service."""

    def __init__(
        self,
        server_url: str,
        device_key: DeviceKey,
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (5.0, 30.0),
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        random_fraction: Callable[[], float] | None = None,
        allow_insecure_http: bool = False,
    ) -> None:
        self.server_url = check_server_url(server_url, allow_insecure_http)
        self.device_key = device_key
        self.session = session or requests.Session()
        self._owns_session = session is None
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        # Looked up now rather than bound at import, so callers and tests can swap them.
        self.clock = clock or time.time
        self.sleep = sleep or time.sleep
        self.random_fraction = random_fraction or random.random

    def close(self) -> None:
        """Close the HTTP session if this object made it."""
        if self._owns_session:
            self.session.close()

    def activate(self, body: dict[str, Any]) -> ServiceResponse:
        """POST /v1/activations with an already built body."""
        return self._call("POST", "/v1/activations", json_body=body)

    def refresh(self, activation_id: str, client_time: str | None = None) -> ServiceResponse:
        """POST /v1/activations/{id}/refresh."""
        body = {"client_time": client_time} if client_time else {}
        return self._call(
            "POST", f"/v1/activations/{_segment(activation_id)}/refresh", json_body=body
        )

    def deactivate(self, activation_id: str) -> ServiceResponse:
        """DELETE /v1/activations/{id}; the service answers 204 even when repeated."""
        return self._call("DELETE", f"/v1/activations/{_segment(activation_id)}")

    def fetch_jwks(self) -> dict[str, Any]:
        """GET /v1/keys."""
        return self._call("GET", "/v1/keys").body

    def _call(
        self, method: str, path: str, json_body: dict[str, Any] | None = None
    ) -> ServiceResponse:
        """Send one logical request, retrying transient failures with new proofs."""
        url = self.server_url + path
        for attempt in range(1, self.retry.attempts + 1):
            last = attempt == self.retry.attempts
            try:
                response = self._send(method, url, json_body)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if last or isinstance(exc, requests.exceptions.SSLError):
                    raise errors.ServiceUnreachable(f"{method} {path}: {_describe(exc)}") from exc
                self._pause(attempt, None, reason=type(exc).__name__)
                continue
            except requests.RequestException as exc:
                raise errors.ServiceUnreachable(f"{method} {path}: {_describe(exc)}") from exc
            with response:
                if not _is_transient(response.status_code) or last:
                    return _interpret(response, self.clock())
                retry_after = _retry_after(response, self.clock())
                if retry_after is not None and retry_after > self.retry.max_retry_after:
                    return _interpret(response, self.clock())
                self._pause(attempt, retry_after, reason=str(response.status_code))
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, method: str, url: str, json_body: dict[str, Any] | None) -> requests.Response:
        """Send one HTTP request with its own proof (the service spends every jti)."""
        headers = {
            "DPoP": make_proof(self.device_key, method, url, now=self.clock()),
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        # No redirects: the proof names this exact URL, and credentials must
        # never follow a redirect to another host.
        return self.session.request(
            method,
            url,
            json=json_body,
            headers=headers,
            timeout=self.timeout,
            allow_redirects=False,
        )

    def _pause(self, attempt: int, retry_after: float | None, *, reason: str) -> None:
        """Sleep before the next try: the server's Retry-After, else backoff with jitter."""
        if retry_after is None:
            ceiling = min(self.retry.max_delay, self.retry.base_delay * 2 ** (attempt - 1))
            # "Equal jitter": at least half the backoff, so clients that failed
            # together spread out without hammering the service early.
            delay = ceiling / 2 + self.random_fraction() * ceiling / 2
        else:
            delay = retry_after
        log.info("Tessera service answered %s; retrying in %.1f s", reason, delay)
        self.sleep(delay)


def check_server_url(server_url: str, allow_insecure_http: bool = False) -> str:
    """Return the base URL without a trailing slash, refusing plain HTTP to remote hosts."""
    parts = urlsplit(server_url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"server URL must be an http(s) URL: {server_url!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError("server URL must not carry a query, fragment or credentials")
    # Passwords and activation codes travel in the body: plain HTTP only to this machine.
    if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS and not allow_insecure_http:
        raise ValueError("server URL must use https")
    return server_url.rstrip("/")


def parse_http_date(value: str | None) -> int | None:
    """Return an HTTP Date header as epoch seconds, or None when unusable."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        return None  # RFC 9110 dates are GMT; a zone-less one is not trustworthy
    return int(parsed.timestamp())


def _segment(value: str) -> str:
    """Quote an id as one path segment so it cannot change the path."""
    return quote(value, safe="")


def _is_transient(status: int) -> bool:
    """Tell whether a status is worth retrying."""
    return status == 429 or status >= 500


def _retry_after(response: requests.Response, now: float) -> float | None:
    """Read Retry-After as seconds from now (delta-seconds or HTTP-date)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    when = parse_http_date(value)
    return None if when is None else max(0.0, when - now)


def _interpret(response: requests.Response, now: float) -> ServiceResponse:
    """Turn a final HTTP answer into a ServiceResponse or a typed error."""
    server_time = parse_http_date(response.headers.get("Date"))
    if 200 <= response.status_code < 300:
        return ServiceResponse(response.status_code, _json_object(response), server_time)
    raise _error_from(response, now)


def _json_object(response: requests.Response) -> dict[str, Any]:
    """Return the JSON object body, empty for 204."""
    if response.status_code == 204 or not response.content:
        return {}
    try:
        body = response.json()
    except ValueError as exc:
        raise errors.ProtocolError(f"service answered {response.status_code} without JSON") from exc
    if not isinstance(body, dict):
        raise errors.ProtocolError("service answered JSON that is not an object")
    return body


def _error_from(response: requests.Response, now: float) -> errors.ClientError:
    """Build the typed exception for an error answer."""
    status = response.status_code
    if 300 <= status < 400:
        return errors.ProtocolError(f"service answered a redirect ({status}); check the server URL")
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    code = body.get("code") if isinstance(body.get("code"), str) else f"HTTP_{status}"
    message = body.get("message") if isinstance(body.get("message"), str) else f"HTTP {status}"
    field_errors = body.get("errors") if isinstance(body.get("errors"), dict) else {}
    cls = errors.SERVER_ERRORS.get(code) or (
        errors.TransientServiceError if _is_transient(status) else errors.LicenseError
    )
    kwargs: dict[str, Any] = {"code": code, "status": status, "errors": field_errors}
    if cls is errors.RateLimited:
        kwargs["retry_after"] = _retry_after(response, now)
    return cls(message, **kwargs)


def _describe(exc: BaseException) -> str:
    """Name a transport failure without dumping internals."""
    return f"no answer from the service ({type(exc).__name__})"
