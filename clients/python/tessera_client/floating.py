"""Keeping a floating seat: refresh its short lease in the background, check in on exit.

A floating licence holds a seat only while its lease lives (15 minutes by
default), so a running product must refresh from the lease's ``rfa`` on, and
should check its seat in when it exits so that a colleague can take it at
once instead of waiting for the lease to lapse.

    with LicenseClient("numflo", state_dir, server_url=URL) as client:
        client.activate(activation_code=code)
        keeper = LeaseKeeper(client).start()   # refreshes until stopped
        ...                                     # the product runs
        keeper.stop()                           # checks the seat in (also at exit)

The keeper and the product share one LicenseClient; calls go through
``keeper.lock`` so that they never overlap.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable

from . import errors
from .client import LicenseClient

log = logging.getLogger("tessera_client.floating")
# Refusals after which no refresh can succeed: the seat is gone or may not be used.
SEAT_LOST = (errors.ActivationReleased, errors.NotActivated, errors.LicenseExpired,
             errors.LicenseSuspended, errors.LicenseRevoked, errors.AccountRestricted,
             errors.ExportRestricted, errors.NotFound, errors.InvalidProof)


class LeaseKeeper:
    """Refresh one client's lease in a daemon thread; check the seat in when stopped."""

    def __init__(self, client: LicenseClient, *, retry_seconds: float = 30.0,
                 check_in_at_exit: bool = True,
                 on_lost: Callable[[errors.ClientError], None] | None = None) -> None:
        self.client = client
        self.lock = threading.RLock()
        self.lost: errors.ClientError | None = None
        self._retry = retry_seconds
        self._on_lost = on_lost
        self._check_in_at_exit = check_in_at_exit
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> LeaseKeeper:
        """Start refreshing; returns self."""
        self._thread = threading.Thread(target=self._run, name="tessera-lease-keeper",
                                        daemon=True)
        self._thread.start()
        if self._check_in_at_exit:
            atexit.register(self.stop)
        return self

    def stop(self, *, check_in: bool = True) -> None:
        """Stop refreshing and (by default) check the seat in; safe to call twice."""
        self._stopped.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        if self._check_in_at_exit:
            atexit.unregister(self.stop)
        if check_in and self.lost is None:
            self._check_in()

    def next_delay(self) -> float:
        """Seconds until the lease should be refreshed (0 when it is due now)."""
        with self.lock:
            status = self.client.status()
        if status.refresh_after is None:
            return 0.0
        return max(0.0, status.refresh_after - self.client.clock())

    def _run(self) -> None:
        delay = self._safe_delay()
        while not self._stopped.wait(delay):
            delay = self._refresh_once()
            if delay is None:
                return

    def _refresh_once(self) -> float | None:
        """One refresh; the next delay, or None when the seat is lost."""
        try:
            with self.lock:
                self.client.refresh()
        except SEAT_LOST as exc:
            self.lost = exc
            log.warning("floating seat lost: %s", exc.code)
            if self._on_lost is not None:
                self._on_lost(exc)
            return None
        except errors.ClientError as exc:
            # Unreachable or a transient refusal: the lease in hand still runs; retry.
            log.info("lease refresh failed (%s); retrying in %.0f s", exc.code, self._retry)
            return self._retry
        return self._safe_delay()

    def _safe_delay(self) -> float:
        try:
            return self.next_delay()
        except errors.ClientError:
            return self._retry

    def _check_in(self) -> None:
        try:
            with self.lock:
                self.client.deactivate()
        except errors.ClientError as exc:
            # Unreachable: the seat lapses with its lease instead.
            log.info("check-in failed (%s); the seat frees itself when its lease ends",
                     exc.code)
