"""Detection signals: what the desktop protocol saw, turned into compliance records.

Detection adds no work to a successful refresh. A signal rides on the error a
refused request raises anyway (``flag``), or — for the two signals that arise
on requests that succeed, seat churn and a suspected clone — is queued on the
request (``queue``). After the answer is made, the recorder resolves whose
account it concerns and upserts the record in the compliance store, each in
its own short transaction: the request's own transaction has already rolled
back (a refusal must still be recorded) or committed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import Flask, g

from core.database import db, utcnow
from licensing.activation.models import Seat
from licensing.catalog.models import License
from privacy.legal import subjects
from privacy.legal.records import Observation, observe
from privacy.providers import ACCOUNT
from privacy.objections import ObjectionService
from privacy.purposes import ANTI_PIRACY, EXPORT_COMPLIANCE, LICENSE_COMPLIANCE
from privacy.wiring import components as privacy_components

log = logging.getLogger("tessera.compliance")

FOREIGN_KEY_REFRESH = "foreign_key_refresh"
REVOKED_LICENSE_USE = "revoked_license_use"
CODE_GUESSING = "code_guessing"
SEAT_CHURN = "seat_churn"
CLONE_SUSPECTED = "clone_suspected"
EXPORT_BLOCKED_COUNTRY = "export_blocked_country"
EXPORT_DENIED_PARTY = "export_denied_party"
TAGS = {
    FOREIGN_KEY_REFRESH: (ANTI_PIRACY,), REVOKED_LICENSE_USE: (ANTI_PIRACY,),
    CODE_GUESSING: (ANTI_PIRACY,), SEAT_CHURN: (ANTI_PIRACY,), CLONE_SUSPECTED: (ANTI_PIRACY,),
    EXPORT_BLOCKED_COUNTRY: (EXPORT_COMPLIANCE,), EXPORT_DENIED_PARTY: (EXPORT_COMPLIANCE,),
}
NETWORK = "network"
_PENDING = "compliance_signals"
# Heuristics about how a license is used (license.compliance, Legitimate interests):
# an account holder's upheld objection stops them (GDPR Art 21), unlike the evidence
# of a refused request, which is kept under Legal obligation.
OBJECTABLE = frozenset({SEAT_CHURN, CLONE_SUSPECTED})


@dataclass(frozen=True)
class Signal:
    """One detected signal; the account is found from the seat or license when not given."""

    kind: str
    account_id: str | None = None
    license_id: str | None = None
    seat_id: str | None = None
    # An address prefix, for a signal that concerns a network rather than an account.
    network: str | None = None
    country: str | None = None
    evidence: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in TAGS:
            raise ValueError(f"unknown signal kind {self.kind!r}")


def flag(error: Exception, signal: Signal) -> Exception:
    """Attach SIGNAL to ERROR, to be recorded once the refusal has been answered."""
    error.compliance_signal = signal
    return error


def queue(signal: Signal) -> None:
    """Record SIGNAL after this request's answer (for signals of successful requests)."""
    g.setdefault(_PENDING, []).append(signal)


def _pending() -> list[Signal]:
    found = list(g.pop(_PENDING, []))
    error = g.pop("service_error", None)
    signal = getattr(error, "compliance_signal", None)
    if signal is not None:
        found.append(signal)
    return found


def _resolve(connection: sa.Connection, signal: Signal) -> tuple[str | None, str | None]:
    """The account and license a signal concerns."""
    license_id = signal.license_id
    if license_id is None and signal.seat_id is not None:
        license_id = connection.scalar(sa.select(Seat.license_id).where(Seat.id == signal.seat_id))
    account_id = signal.account_id
    if account_id is None and license_id is not None:
        account_id = connection.scalar(
            sa.select(License.account_id).where(License.id == license_id))
    return account_id, license_id


def _objected(connection: sa.Connection, account_id: str | None) -> bool:
    """Whether the account holder objected to license.compliance processing."""
    if account_id is None:
        return False
    objecting = ObjectionService.objecting(LICENSE_COMPLIANCE, ACCOUNT)
    return bool(connection.scalar(sa.select(sa.literal(account_id).in_(objecting))))


def record(signal: Signal) -> None:
    """Upsert SIGNAL's record (and keep its subject's link in the main store)."""
    pseudonymizer = privacy_components().pseudonymizer
    now = utcnow()
    with db.engine.begin() as connection:
        account_id, license_id = _resolve(connection, signal)
        if signal.kind in OBJECTABLE and _objected(connection, account_id):
            return
        if account_id is not None:
            subject = subjects.reference(pseudonymizer, ACCOUNT, account_id)
            subjects.remember(connection, subject, account_id, now)
        else:
            subject = subjects.reference(pseudonymizer, NETWORK, signal.network or "unknown")
    with db.engines["compliance"].begin() as connection:
        observe(connection, Observation(signal.kind, TAGS[signal.kind], subject, license_id,
                                        signal.country, signal.evidence), now)


def _record_pending(response):
    for signal in _pending():
        try:
            record(signal)
        except Exception as exc:  # a failed record must not change the answer already made
            log.warning("compliance record %s not written (%s)", signal.kind,
                        type(exc).__name__)
    return response


def init_app(app: Flask) -> None:
    """Record the request's signals after its answer."""
    app.after_request(_record_pending)
