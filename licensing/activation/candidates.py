"""Activation's SQL: the candidate licenses under lock, their seats, a new seat, a code spent.

An activation by code used to load five ORM entities (the code, its license,
product and account, then the license again under lock) and ran nine
statements; building and loading them cost more CPU than the database did.
These statements are built once and read as Core rows into small dataclasses.
A code activation that takes a new seat sends, inside its transaction, one
locked read (the code with its license, product and account), one read of the
license's seats, one INSERT and one conditional UPDATE of the code.

Seats are counted in a statement of their own, after the lock is held. Under
PostgreSQL's READ COMMITTED every statement reads the snapshot taken when it
began: a count made by the statement that waited for the lock would miss the
seats of the transaction it waited for, and two activations could overrun the
limit. On SQLite the transaction holds the write lock from BEGIN IMMEDIATE.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from licensing.accounts.models import Account
from licensing.activation import floating
from licensing.activation.models import Seat
from licensing.activation.refresh import LicenseTerms
from licensing.catalog.models import ActivationCode, License, Product

_SEATS, _LICENSES, _CODES = Seat.__table__, License.__table__, ActivationCode.__table__
_PRODUCTS, _ACCOUNTS = Product.__table__, Account.__table__


@dataclass(frozen=True, slots=True)
class LicenseRow(LicenseTerms):
    """A license's terms (what a lease carries) and when it was made (which one binds first)."""

    created_at: datetime


class AccountState:
    """The account columns activation checks; name and company only when asked for.

    They are encrypted, and only denied-party screening reads them: they are
    loaded (through the session) the first time they are, never otherwise.
    """

    __slots__ = ("id", "country", "restricted_at", "erased_at", "screened_against",
                 "screened_at", "screening_match", "_session")

    def __init__(self, session, id: str, country: str | None, restricted_at: datetime | None,
                 erased_at: datetime | None, screened_against: str | None = None,
                 screened_at: datetime | None = None, screening_match: dict | None = None):
        self.id, self.country, self._session = id, country, session
        self.restricted_at, self.erased_at = restricted_at, erased_at
        # The last denied-party screening's verdict (licensing.compliance.checks).
        self.screened_against, self.screened_at = screened_against, screened_at
        self.screening_match = screening_match

    @property
    def name(self) -> str | None:
        return self._session.get(Account, self.id).name

    @property
    def company(self) -> str | None:
        return self._session.get(Account, self.id).company


@dataclass(frozen=True, slots=True)
class Candidate:
    """A license a device may bind to, with what activation needs of its product and account."""

    license: LicenseRow
    product_code: str
    fingerprint_match: str
    account: AccountState


@dataclass(frozen=True, slots=True)
class CodeRow:
    """An activation code as found, with the license it belongs to."""

    id: int
    redeemed_at: datetime | None
    expires_at: datetime
    candidate: Candidate


@dataclass(frozen=True, slots=True)
class SeatCounts:
    """One license's seats: held, activated within the churn window, and this device's."""

    used: int
    recent: int
    device_seat: bool


_LICENSE_FIELDS = tuple(field.name for field in dataclasses.fields(LicenseRow))


def _candidate_columns() -> list:
    return [*(_LICENSES.c[name].label(f"license_{name}") for name in _LICENSE_FIELDS),
            _PRODUCTS.c.code.label("product_code"), _PRODUCTS.c.fingerprint_match,
            _ACCOUNTS.c.id.label("account_id"), _ACCOUNTS.c.country.label("account_country"),
            _ACCOUNTS.c.restricted_at, _ACCOUNTS.c.erased_at, _ACCOUNTS.c.screened_against,
            _ACCOUNTS.c.screened_at, _ACCOUNTS.c.screening_match]


def _with_product_and_account(joined):
    return (joined.join(_PRODUCTS, _LICENSES.c.product_id == _PRODUCTS.c.id)
            .join(_ACCOUNTS, _LICENSES.c.account_id == _ACCOUNTS.c.id))


def _locked(query: sa.Select) -> sa.Select:
    # Every candidate license is locked in id order, so two requests never lock in
    # opposite orders; concurrent activations of one license then take turns.
    return query.order_by(_LICENSES.c.id).with_for_update(of=_LICENSES)


@functools.cache
def _by_code() -> sa.Select:
    code_columns = [_CODES.c.id.label("code_id"), _CODES.c.redeemed_at.label("code_redeemed_at"),
                    _CODES.c.expires_at.label("code_expires_at")]
    joined = _with_product_and_account(
        _CODES.join(_LICENSES, _CODES.c.license_id == _LICENSES.c.id))
    return _locked(sa.select(*code_columns, *_candidate_columns()).select_from(joined)
                   .where(_CODES.c.code_hmac.in_(sa.bindparam("digests", expanding=True))))


@functools.cache
def _by_account() -> sa.Select:
    return _locked(sa.select(*_candidate_columns()).select_from(_with_product_and_account(_LICENSES))
                   .where(_LICENSES.c.account_id == sa.bindparam("account_id"),
                          _PRODUCTS.c.code == sa.bindparam("product")))


@functools.cache
def _by_license() -> sa.Select:
    return _locked(sa.select(*_candidate_columns()).select_from(_with_product_and_account(_LICENSES))
                   .where(_LICENSES.c.id == sa.bindparam("license_id")))


def _candidate(session, row) -> Candidate:
    return Candidate(LicenseRow(*(getattr(row, f"license_{name}") for name in _LICENSE_FIELDS)),
                     row.product_code, row.fingerprint_match,
                     AccountState(session, row.account_id, row.account_country, row.restricted_at,
                                  row.erased_at, row.screened_against, row.screened_at,
                                  row.screening_match))


def code(session, connection: sa.Connection, digests: list[str]) -> CodeRow | None:
    """The code whose HMAC is one of DIGESTS, its license locked; None when there is none."""
    row = connection.execute(_by_code(), {"digests": digests}).first()
    if row is None:
        return None
    return CodeRow(row.code_id, row.code_redeemed_at, row.code_expires_at, _candidate(session, row))


def of_account(session, connection: sa.Connection, account_id: str,
               product: str) -> list[Candidate]:
    """The account's licenses of PRODUCT, locked."""
    rows = connection.execute(_by_account(), {"account_id": account_id, "product": product})
    return [_candidate(session, row) for row in rows]


def of_license(session, connection: sa.Connection, license_id: str) -> list[Candidate]:
    """The license LICENSE_ID (none or one), locked."""
    return [_candidate(session, row)
            for row in connection.execute(_by_license(), {"license_id": license_id})]


def _count(*conditions) -> sa.ScalarSelect:
    return (sa.select(sa.func.count()).select_from(_SEATS)
            .where(_SEATS.c.license_id == _LICENSES.c.id, *conditions)
            .correlate(_LICENSES).scalar_subquery())


@functools.cache
def _seat_counts(churn: bool) -> sa.Select:
    device = sa.exists().where(
        _SEATS.c.license_id == _LICENSES.c.id, _SEATS.c.released_at.is_(None),
        _SEATS.c.device_pseudonym.in_(sa.bindparam("pseudonyms", expanding=True)))
    # Seat churn counts every seat activated in the window, released or not.
    recent = (_count(_SEATS.c.activated_at > sa.bindparam("since", type_=_SEATS.c.activated_at.type))
              if churn else sa.literal(0))
    return (sa.select(_LICENSES.c.id, _count(floating.held(_SEATS)).label("used"),
                      recent.label("recent"), device.label("device_seat"))
            .where(_LICENSES.c.id.in_(sa.bindparam("license_ids", expanding=True))))


def seat_counts(connection: sa.Connection, license_ids: list[str], pseudonyms: list[str],
                now: datetime, churn_since: datetime | None) -> dict[str, SeatCounts]:
    """Per license of LICENSE_IDS: seats held at NOW, activated since CHURN_SINCE (when
    given), and whether a device of PSEUDONYMS holds one. Run under the licenses' lock."""
    parameters = {"license_ids": license_ids, "pseudonyms": pseudonyms, "now": now}
    if churn_since is not None:
        parameters["since"] = churn_since
    rows = connection.execute(_seat_counts(churn_since is not None), parameters)
    return {row.id: SeatCounts(row.used, row.recent, bool(row.device_seat)) for row in rows}


# The columns a new seat is inserted with (the others start NULL).
SEAT_COLUMNS = ("id", "license_id", "device_pseudonym", "device_key_version",
                "device_components", "device_jkt", "device_public_key", "device_name",
                "platform", "offline", "activated_at", "last_refresh_at", "held_until",
                "country", "ip_prefix", "ip_prefix_at")


def _seat_values() -> dict:
    return {name: sa.bindparam(f"seat_{name}", type_=_SEATS.c[name].type)
            for name in SEAT_COLUMNS}


@functools.cache
def _insert_seat() -> sa.Insert:
    return sa.insert(_SEATS).values(_seat_values())


@functools.cache
def _redeem() -> sa.Update:
    return (sa.update(_CODES)
            .where(_CODES.c.id == sa.bindparam("code"), _CODES.c.redeemed_at.is_(None))
            .values(redeemed_at=sa.bindparam("redeemed", type_=_CODES.c.redeemed_at.type),
                    seat_id=sa.bindparam("seat_id_", type_=_CODES.c.seat_id.type)))


@functools.cache
def _insert_seat_and_redeem() -> sa.Update:
    # PostgreSQL: one statement. The foreign key from the code to its seat is
    # checked at the end of the statement, when the seat is there.
    return _redeem().add_cte(_insert_seat().cte("new_seat"))


def _seat_parameters(values: dict) -> dict:
    return {f"seat_{name}": values[name] for name in SEAT_COLUMNS}


def insert_seat(connection: sa.Connection, values: dict, code_id: int | None = None,
                now: datetime | None = None) -> bool:
    """INSERT one seat (VALUES by column name); with CODE_ID, spend that code for it at NOW.

    False when the code was spent by another request first (the caller rolls
    back: the seat must not stay). Of two concurrent redemptions only one
    matches the conditional UPDATE.
    """
    parameters = _seat_parameters(values)
    if code_id is None:
        connection.execute(_insert_seat(), parameters)
        return True
    parameters.update(code=code_id, redeemed=now, seat_id_=values["id"])
    if connection.dialect.name == "postgresql":
        return connection.execute(_insert_seat_and_redeem(), parameters).rowcount == 1
    connection.execute(_insert_seat(), parameters)
    return connection.execute(_redeem(), parameters).rowcount == 1


def redeem(connection: sa.Connection, code_id: int, seat_id: str, now: datetime) -> bool:
    """Spend the code for the existing seat SEAT_ID; False when another request spent it first."""
    done = connection.execute(_redeem(), {"code": code_id, "seat_id_": seat_id, "redeemed": now})
    return done.rowcount == 1
