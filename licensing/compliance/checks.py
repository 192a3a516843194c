"""The compliance checks the activation service runs, built once from the config.

Each check costs nothing on a successful refresh beyond a set look-up and a
comparison of two country codes; queries run only on new seats (churn) and
on requests already refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

import sqlalchemy as sa

from core.ratelimit import Counter, RateLimitService
from licensing import errors
from licensing.accounts.models import Account
from licensing.activation.models import Seat
from licensing.compliance import signals
from licensing.compliance.screening import NullScreening, Party
from privacy.geo import Location, ip_prefix

CHURN_WINDOW = timedelta(hours=24)

_CHURN = (sa.select(sa.func.count()).select_from(Seat.__table__)
          .where(Seat.__table__.c.license_id == sa.bindparam("license_id"),
                 Seat.__table__.c.activated_at > sa.bindparam("since")))


@dataclass
class ComplianceChecks:
    """Export screening and detection thresholds, and where signals of success go."""

    embargoed_countries: frozenset[str]
    screening: object
    churn_threshold: int
    clone_window_seconds: int
    emit: Callable[[signals.Signal], None] = signals.queue

    def embargoed(self, country: str | None) -> bool:
        """Whether COUNTRY is under embargo."""
        return country is not None and country in self.embargoed_countries

    def screen_account(self, account: Account, location: Location) -> None:
        """Refuse (403, recorded) an account in an embargoed country or on a denied-party list."""
        country = location.country or account.country
        if self.embargoed(country):
            raise signals.flag(errors.ExportRestricted(), signals.Signal(
                signals.EXPORT_BLOCKED_COUNTRY, account_id=account.id, country=country,
                evidence={"country_source": "request" if location.country else "account"}))
        if isinstance(self.screening, NullScreening):
            return
        match = self.screening.screen(Party(account.name, account.company, account.country))
        if match is not None:
            raise signals.flag(errors.ExportRestricted(), signals.Signal(
                signals.EXPORT_DENIED_PARTY, account_id=account.id, country=country,
                evidence={"list": match.source, "score": match.score,
                          "provider": self.screening.name}))

    def blocked_refresh(self, seat_id: str, license_id: str, country: str) -> Exception:
        """The refusal of a refresh from an embargoed country, carrying its signal."""
        return signals.flag(errors.ExportRestricted(), signals.Signal(
            signals.EXPORT_BLOCKED_COUNTRY, seat_id=seat_id, license_id=license_id,
            country=country, evidence={"country_source": "request"}))

    def new_seat(self, session, license_id: str, now: datetime, *, seen: int | None = None,
                 account_id: str | None = None) -> None:
        """Signal seat churn when a license has had too many new devices in a day.

        SEEN is the count of seats activated in the window with the new one, and
        ACCOUNT_ID the license's account, when the caller has them already
        (activation reads both with the license and its seats).
        """
        if seen is None:
            seen = session.scalar(_CHURN, {"license_id": license_id, "since": now - CHURN_WINDOW})
        if seen > self.churn_threshold:
            self.emit(signals.Signal(signals.SEAT_CHURN, license_id=license_id,
                                     account_id=account_id,
                                     evidence={"devices_in_24h": seen,
                                               "threshold": self.churn_threshold}))

    def refreshed(self, seat, location: Location, now: datetime) -> None:
        """Signal a suspected clone: one activation refreshed from two countries too quickly."""
        before, after = seat.country, location.country
        if before is None or after is None or before == after or seat.last_refresh_at is None:
            return
        apart = (now - seat.last_refresh_at).total_seconds()
        if apart < self.clone_window_seconds:
            self.emit(signals.Signal(signals.CLONE_SUSPECTED, seat_id=seat.id,
                                     license_id=seat.license_id, country=after,
                                     evidence={"countries": sorted((before, after)),
                                               "seconds_apart": int(apart)}))


def foreign_key(error: Exception, seat_id: str, license_id: str) -> Exception:
    """ERROR (a proof made by another key) carrying its anti-piracy signal."""
    return signals.flag(error, signals.Signal(signals.FOREIGN_KEY_REFRESH, seat_id=seat_id,
                                              license_id=license_id))


def refused_license(error: Exception, license_id: str, state: str) -> Exception:
    """ERROR (a revoked or suspended license) carrying its anti-piracy signal."""
    if state not in ("revoked", "suspended"):
        return error
    return signals.flag(error, signals.Signal(signals.REVOKED_LICENSE_USE,
                                              license_id=license_id,
                                              evidence={"license_status": state}))


def checks_from_config(config, screening) -> ComplianceChecks:
    """The checks the configuration describes."""
    return ComplianceChecks(config["TESSERA_EMBARGOED_COUNTRIES"], screening,
                            config["TESSERA_CHURN_THRESHOLD"],
                            config["TESSERA_CLONE_WINDOW_SECONDS"])


def code_guess(error: Exception, address: str | None, limits: RateLimitService) -> None:
    """Flag ERROR (an invalid code) as code guessing once its prefix passes the hourly limit."""
    prefix = ip_prefix(address) or "unknown"
    if not limits.count(Counter("code-guesses", prefix)):
        signals.flag(error, signals.Signal(signals.CODE_GUESSING, network=prefix,
                                           evidence={"window": "1 hour"}))
