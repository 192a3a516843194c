"""Delivery of the disclosure outbox: POST each signed disclosure, retry with backoff.

Each entry is claimed (a conditional update, committed by the caller) before
it is sent, so two runs — the request that created it and a `flask compliance
deliver` from cron — never send it at the same moment; and every POST carries
the disclosure id as ``Idempotency-Key`` (it is also the JWT's ``jti``), so a
recipient that got a delivery whose answer was lost can recognise the retry.
A recipient that is down leaves the disclosure ``pending`` with its error; the
next try waits BACKOFF * 2^(attempts-1), capped at a day; after MAX_ATTEMPTS
the disclosure is ``failed`` and its signed payload is dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterator

import requests
import sqlalchemy as sa

from core.database import utcnow
from privacy.legal.models import Disclosure, OutboxEntry, Recipient

log = logging.getLogger("tessera.privacy.legal.delivery")

CONTENT_TYPE = "application/jose"
MAX_BACKOFF = timedelta(days=1)


@dataclass(frozen=True)
class DeliveryResult:
    """What one attempt did."""

    disclosure_id: str
    status: str
    error: str | None = None


def _describe(exc: requests.RequestException) -> str:
    # The kind of failure only: an exception's text may carry the endpoint's URL.
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        return "could not connect"
    return type(exc).__name__


class OutboxDelivery:
    """Send due outbox entries over HTTP."""

    def __init__(self, session, http: requests.Session, *, timeout: float,
                 max_attempts: int, backoff_seconds: int, clock=utcnow):
        self._session = session
        self._http = http
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._backoff = timedelta(seconds=backoff_seconds)
        self._clock = clock

    def due(self, everything: bool = False) -> list[str]:
        """Ids of the disclosures to try now (EVERYTHING: ignore the backoff)."""
        query = sa.select(OutboxEntry.disclosure_id).order_by(OutboxEntry.next_attempt_at)
        if not everything:
            query = query.where(OutboxEntry.next_attempt_at <= self._clock())
        return list(self._session.scalars(query))

    def claim(self, disclosure_id: str, everything: bool = False) -> bool:
        """Take DISCLOSURE_ID for one attempt; False when another run holds it or it is gone."""
        now = self._clock()
        free = sa.or_(OutboxEntry.claimed_until.is_(None), OutboxEntry.claimed_until < now)
        conditions = [OutboxEntry.disclosure_id == disclosure_id, free]
        if not everything:
            conditions.append(OutboxEntry.next_attempt_at <= now)
        claimed = self._session.execute(
            sa.update(OutboxEntry).where(*conditions)
            .values(claimed_until=now + timedelta(seconds=self._timeout + 60))
            .execution_options(synchronize_session=False))
        return claimed.rowcount == 1

    def attempt(self, disclosure_id: str) -> DeliveryResult:
        """POST a claimed entry and record the outcome."""
        entry = self._session.get(OutboxEntry, disclosure_id)
        disclosure = self._session.get(Disclosure, disclosure_id)
        recipient = self._session.get(Recipient, disclosure.recipient_id)
        error = self._post(recipient.endpoint, disclosure_id, entry.token)
        disclosure.attempts += 1
        now = self._clock()
        if error is None:
            disclosure.status, disclosure.delivered_at, disclosure.last_error = (
                "delivered", now, None)
            self._session.delete(entry)
        elif disclosure.attempts >= self._max_attempts:
            disclosure.status, disclosure.last_error = "failed", error
            self._session.delete(entry)
        else:
            disclosure.last_error = error
            entry.next_attempt_at = now + self._wait(disclosure.attempts)
            entry.claimed_until = None
        self._session.flush()
        return DeliveryResult(disclosure_id, disclosure.status, error)

    def run(self, everything: bool = False,
            only: str | None = None) -> Iterator[DeliveryResult | None]:
        """Claim and send each due entry (or ONLY that one); the caller commits after each yield.

        Yields None after a claim (commit it before the POST, so no lock is held
        while the recipient answers) and a DeliveryResult after each attempt.
        """
        for disclosure_id in ([only] if only is not None else self.due(everything)):
            if not self.claim(disclosure_id, everything):
                continue
            yield None
            yield self.attempt(disclosure_id)

    def _wait(self, attempts: int) -> timedelta:
        return min(self._backoff * (2 ** (attempts - 1)), MAX_BACKOFF)

    def _post(self, endpoint: str, disclosure_id: str, token: str) -> str | None:
        try:
            response = self._http.post(
                endpoint, data=token.encode("ascii"), timeout=self._timeout,
                headers={"Content-Type": CONTENT_TYPE, "Idempotency-Key": disclosure_id},
                allow_redirects=False)
        except requests.RequestException as exc:
            return _describe(exc)
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"


def next_attempt(session, disclosure_id: str) -> datetime | None:
    """When DISCLOSURE_ID is next tried, if it is still in the outbox."""
    return session.scalar(sa.select(OutboxEntry.next_attempt_at)
                          .where(OutboxEntry.disclosure_id == disclosure_id))
