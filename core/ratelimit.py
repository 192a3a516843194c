"""Attempt limits on credentials and codes, counted in a `limits` storage.

The views call `RateLimitService` at the point the contract puts 429 (after
body validation, before any credential is checked), so limits are not
decorators. That is why the service is built on `limits` (the library that
counts for Flask-Limiter) and not on Flask-Limiter itself: Flask-Limiter
installs a hook that runs on every request, the refresh hot path included,
to apply route limits this service does not have. With Redis as storage every worker and instance shares the
counts; when Redis does not answer, each process falls back to counting in
its own memory rather than refusing every customer (see the README).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import threading
import time
from dataclasses import dataclass

from flask import Flask
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter, RateLimiter
from redis.exceptions import RedisError

from core import errors

log = logging.getLogger("tessera.ratelimit")

# Rule name -> config key holding its limit ("N per minute|hour").
RULES = {
    "address-attempts": "TESSERA_RATELIMIT_ADDRESS_ATTEMPTS",
    "account-attempts": "TESSERA_RATELIMIT_ACCOUNT_ATTEMPTS",
    "account-failures": "TESSERA_RATELIMIT_ACCOUNT_FAILURES",
    "code-failures": "TESSERA_RATELIMIT_CODE_FAILURES",
    "staff-failures": "TESSERA_RATELIMIT_STAFF_FAILURES",
}
STORAGE_ERRORS = (StorageError, RedisError, OSError)


@dataclass(frozen=True)
class Counter:
    """One limit applied to one subject (an address or a username)."""

    rule: str
    subject: str


class RateLimitService:
    """Count attempts and failures; refuse with 429 once a limit is spent."""

    def __init__(self, primary: RateLimiter, limits: dict[str, RateLimitItem], secret: bytes,
                 *, retry_primary_seconds: float = 30.0, clock=time.monotonic):
        self._primary = primary
        self._fallback = MovingWindowRateLimiter(MemoryStorage())
        self._limits = limits
        self._secret = secret
        self._retry_primary_seconds = retry_primary_seconds
        self._clock = clock
        self._primary_down_until = 0.0
        self._lock = threading.Lock()

    def guard(self, *, hit: list[Counter], test: list[Counter] | None = None) -> None:
        """Refuse if any counter is spent; then count one attempt on each of HIT."""
        spent = [c for c in [*hit, *(test or [])] if not self._call("test", c)]
        if spent:
            raise errors.RateLimited(self._retry_after(spent))
        over = [c for c in hit if not self._call("hit", c)]
        if over:
            raise errors.RateLimited(self._retry_after(over))

    def failed(self, *counters: Counter) -> None:
        """Count one failure on each counter (a wrong password, an unknown code)."""
        for counter in counters:
            self._call("hit", counter)

    def _retry_after(self, counters: list[Counter]) -> int:
        now = time.time()
        resets = [self._call("get_window_stats", c).reset_time for c in counters]
        return max(1, math.ceil(max(resets) - now))

    def _call(self, method: str, counter: Counter):
        item = self._limits[counter.rule]
        # Subjects are keyed by HMAC so the storage holds no usernames or addresses.
        key = hmac.new(self._secret, counter.subject.encode("utf-8"), hashlib.sha256).hexdigest()
        if self._clock() >= self._primary_down_until:
            try:
                return getattr(self._primary, method)(item, "tessera", counter.rule, key)
            except STORAGE_ERRORS as exc:
                self._primary_failed(exc)
        return getattr(self._fallback, method)(item, "tessera", counter.rule, key)

    def _primary_failed(self, exc: Exception) -> None:
        with self._lock:
            self._primary_down_until = self._clock() + self._retry_primary_seconds
        log.warning("rate-limit storage unavailable (%s); counting in process memory",
                    type(exc).__name__)


def init_app(app: Flask) -> RateLimitService:
    """Build the app's rate-limit service on the configured `limits` storage."""
    config = app.config
    options = {}
    if not config["TESSERA_RATELIMIT_STORAGE_URI"].startswith("memory"):
        # A dead Redis must cost a request about a second, not a worker timeout.
        options = {"socket_connect_timeout": 1, "socket_timeout": 1}
    storage = storage_from_string(config["TESSERA_RATELIMIT_STORAGE_URI"], **options)
    limits = {rule: parse(config[key]) for rule, key in RULES.items()}
    secret = hashlib.sha256(b"tessera-ratelimit:" + config["SECRET_KEY"].encode()).digest()
    return RateLimitService(MovingWindowRateLimiter(storage), limits, secret)
