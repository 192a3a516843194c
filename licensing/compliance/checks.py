"""The compliance checks the activation service runs, built once from the config.

Each check costs nothing on a successful refresh beyond a set look-up and a
comparison of two country codes; queries run only on new seats (churn) and
on requests already refused.

Denied-party screening keeps its verdict with the account (the list it was
made against, when, and the hit or NULL): an activation or a refresh screens
again only when the verdict is missing, was made against another list or
threshold, or (HTTP provider) is older than its cache. A refresh reads the
verdict in its own statement, so with a 10,000-name list it still compares
two strings, not 10,000 names. A hit is remembered even though the request
that found it is refused and rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

import sqlalchemy as sa

from core.database import db, utcnow
from core.http import after_rollback
from core.ratelimit import Counter, RateLimitService
from licensing import errors
from licensing.accounts.models import Account
from licensing.activation.models import Seat
from licensing.compliance import signals
from licensing.compliance.screening import Party
from privacy.geo import Location, ip_prefix

CHURN_WINDOW = timedelta(hours=24)
# A screening that got no answer (the HTTP provider failing open): not refused, not kept.
_UNKNOWN = object()
# The "since" of a verdict that holds until its list changes.
_LONG_AGO = datetime(2000, 1, 1, tzinfo=timezone.utc)

_ACCOUNTS = Account.__table__
_PARTY = (sa.select(_ACCOUNTS.c.name, _ACCOUNTS.c.company, _ACCOUNTS.c.country)
          .where(_ACCOUNTS.c.id == sa.bindparam("account_id")))
_REMEMBER = (sa.update(_ACCOUNTS).where(_ACCOUNTS.c.id == sa.bindparam("account_id"))
             .values(screened_against=sa.bindparam("against"),
                     screened_at=sa.bindparam("at", type_=_ACCOUNTS.c.screened_at.type),
                     screening_match=sa.bindparam("match",
                                                  type_=_ACCOUNTS.c.screening_match.type)))

_BATCH = (sa.select(_ACCOUNTS.c.id, _ACCOUNTS.c.name, _ACCOUNTS.c.company, _ACCOUNTS.c.country,
                    _ACCOUNTS.c.screened_against, _ACCOUNTS.c.screened_at,
                    _ACCOUNTS.c.screening_match)
          .where(_ACCOUNTS.c.erased_at.is_(None), _ACCOUNTS.c.id > sa.bindparam("after"))
          .order_by(_ACCOUNTS.c.id).limit(sa.bindparam("limit")))


@dataclass(frozen=True, slots=True)
class Verdict:
    """An account's last denied-party screening, as stored with the account."""

    against: str | None
    at: datetime | None
    match: dict | None


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

    def screening_window(self, now: datetime) -> tuple[str, datetime] | None:
        """(list, since): a verdict holds when made against LIST, not before SINCE.

        None when nobody is screened.
        """
        version = self.screening.version
        if version is None:
            return None
        age = self.screening.max_age_seconds
        return version, (now - timedelta(seconds=age) if age is not None else _LONG_AGO)

    def screen_account(self, account, location: Location, connection: sa.Connection) -> None:
        """Refuse (403, recorded) an account in an embargoed country or on a denied-party list.

        ACCOUNT is the ORM Account or anything with its columns (id, name,
        company, country and the verdict's three); a new verdict is written on
        CONNECTION, in the activation's transaction.
        """
        country = location.country or account.country
        if self.embargoed(country):
            raise signals.flag(errors.ExportRestricted(), signals.Signal(
                signals.EXPORT_BLOCKED_COUNTRY, account_id=account.id, country=country,
                evidence={"country_source": "request" if location.country else "account"}))
        if self.screening.version is None:
            return
        now = utcnow()
        stored = Verdict(account.screened_against, account.screened_at, account.screening_match)
        if self._holds(stored, now):
            match = stored.match
        else:
            match = self._screen(Party(account.name, account.company, account.country),
                                 account.id, now)
            if match is not _UNKNOWN:
                connection.execute(_REMEMBER, self._verdict(account.id, match, now))
        self._refuse_denied(match, account.id, None, country)

    def screen_refresh(self, connection: sa.Connection, account_id: str, license_id: str,
                       stored: Verdict, location: Location, now: datetime) -> bool:
        """Refuse (403, recorded) a refresh for an account on a denied-party list.

        STORED is the verdict the refresh statement read with the seat; the
        list is consulted only when it no longer holds. True when the account
        was screened just now and passed: the statement, which stamps only
        on a verdict that holds, left the seat unstamped.
        """
        if self.screening.version is None:
            return False  # nobody is screened: a verdict under an earlier list counts for nothing
        if self._holds(stored, now):
            self._refuse_denied(stored.match, account_id, license_id, location.country)
            return False
        row = connection.execute(_PARTY, {"account_id": account_id}).one()
        match = self._screen(Party(row.name, row.company, row.country), account_id, now)
        if match is not _UNKNOWN:
            connection.execute(_REMEMBER, self._verdict(account_id, match, now))
        self._refuse_denied(match, account_id, license_id, location.country)
        return True

    def rescreen(self, connection: sa.Connection, after: str | None, limit: int,
                 now: datetime, *, every: bool = False) -> tuple[list[str], list[signals.Signal]]:
        """Screen up to LIMIT live accounts after id AFTER whose verdict no longer holds.

        EVERY screens those whose verdict holds as well. Returns the ids
        walked and a signal per hit; a name the provider could not answer
        keeps its old verdict.
        """
        rows = connection.execute(_BATCH, {"after": after or "", "limit": limit}).all()
        hits = []
        for row in rows:
            stored = Verdict(row.screened_against, row.screened_at, row.screening_match)
            if not every and self._holds(stored, now):
                continue
            found, known = self.screening.screen_known(Party(row.name, row.company,
                                                             row.country))
            if not known:
                continue
            match = None if found is None else {"list": found.source, "score": found.score}
            connection.execute(_REMEMBER, self._verdict(row.id, match, now))
            if match is not None:
                hits.append(signals.Signal(
                    signals.EXPORT_DENIED_PARTY, account_id=row.id, country=row.country,
                    evidence={**match, "provider": self.screening.name}))
        return [row.id for row in rows], hits

    def _holds(self, stored: Verdict, now: datetime) -> bool:
        if stored.against is None or stored.against != self.screening.version:
            return False
        age = self.screening.max_age_seconds
        return age is None or (stored.at is not None
                               and (now - stored.at).total_seconds() < age)

    def _screen(self, party: Party, account_id: str, now: datetime) -> dict | None | object:
        """Screen PARTY: the hit as stored ({"list", "score"}), None, or _UNKNOWN (no answer)."""
        found, known = self.screening.screen_known(party)
        match = None if found is None else {"list": found.source, "score": found.score}
        if not known and match is None:
            return _UNKNOWN
        if match is not None:
            # The refusal rolls the request back; its verdict must outlive it.
            verdict = self._verdict(account_id, match, now)

            def remember():
                with db.engine.begin() as connection:
                    connection.execute(_REMEMBER, verdict)

            after_rollback(remember)
        return match

    def _verdict(self, account_id: str, match: dict | None, now: datetime) -> dict:
        return {"account_id": account_id, "against": self.screening.version, "at": now,
                "match": match}

    def _refuse_denied(self, match, account_id: str, license_id: str | None,
                       country: str | None) -> None:
        if match is None or match is _UNKNOWN:
            return
        raise signals.flag(errors.ExportRestricted(), signals.Signal(
            signals.EXPORT_DENIED_PARTY, account_id=account_id, license_id=license_id,
            country=country, evidence={**match, "provider": self.screening.name}))

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


def foreign_key(error: Exception, seat_id: str, license_id: str,
                account_id: str | None = None) -> Exception:
    """ERROR (a proof made by another key) carrying its anti-piracy signal.

    ACCOUNT_ID, when the caller read it already, spares the recorder a query.
    """
    return signals.flag(error, signals.Signal(signals.FOREIGN_KEY_REFRESH, seat_id=seat_id,
                                              license_id=license_id, account_id=account_id))


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
