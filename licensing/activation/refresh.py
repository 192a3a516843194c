"""The refresh hot path's SQL: a seat, its license, and the stamp of this refresh.

Every installed product refreshes on a schedule, so this is the statement the
service runs most. It is built once per dialect and read as Core rows: loading
two ORM entities cost more CPU than the query itself.

On PostgreSQL one statement does the whole database side of a refresh: it
spends the proof's jti, stamps the seat (``last_refresh_at`` and where the
request came from) only when the refresh is allowed (ALLOWED below), and
returns the seat as it was, with its license terms, the product code, the
account's restriction and the seats in use. The caller decides the answer from
that row. Since a refused refresh writes nothing but its spent jti, the
statement can run in autocommit mode, with no BEGIN or COMMIT round trips.
The stamp re-checks its conditions under the seat's row lock: a refresh that
raced a release or a suspension finds it not stamped, and answers 503.

A floating seat's stamp also extends ``held_until`` to the end of the lease
about to be issued (licensing.activation.floating): on PostgreSQL computed in
the statement from the license's terms, on SQLite in Python between the read
and the stamp. A lapsed seat is not stamped, and does not count in
``seats_used``.

SQLite cannot write in a WITH clause, so there the jti is spent, the seat read
and then stamped in three statements of the caller's transaction.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timezone

import psycopg
import sqlalchemy as sa

from licensing.accounts.models import Account
from licensing.activation import floating
from licensing.activation.models import Seat
from licensing.activation.replay import spend_statement
from licensing.catalog.models import License, Product
from licensing.compliance.checks import Verdict

_SEATS, _LICENSES = Seat.__table__, License.__table__
_PRODUCTS, _ACCOUNTS = Product.__table__, Account.__table__
STAMPED = ("last_refresh_at", "country", "ip_prefix", "ip_prefix_at")
# License statuses that refuse every activation and refresh.
REFUSING_STATUSES = ("revoked", "suspended")


@dataclass(frozen=True, slots=True)
class SeatState:
    """The columns of a seat that a refresh reads."""

    id: str
    license_id: str
    device_pseudonym: str | None
    device_key_version: int | None
    device_jkt: str | None
    released_at: datetime | None
    offline: bool
    # Where and when the seat was last refreshed, before this refresh (clone detection).
    country: str | None
    last_refresh_at: datetime | None
    held_until: datetime | None


@dataclass(frozen=True, slots=True)
class LicenseTerms:
    """The columns of a license that its state and a lease depend on."""

    id: str
    kind: str
    status: str
    seats: int
    starts_at: datetime
    expires_at: datetime | None
    grace_seconds: int
    lease_seconds: int
    offline_lease_seconds: int
    entitlements: list
    seat_mode: str
    max_borrow_seconds: int


@dataclass(frozen=True, slots=True)
class RefreshRow:
    """What one refresh statement found."""

    seat: SeatState
    license: LicenseTerms
    product_code: str
    restricted_at: datetime | None
    seats_used: int
    account_id: str
    # The account's last denied-party screening (licensing.compliance.checks.Verdict).
    screening: Verdict


_SEAT_FIELDS = SeatState.__slots__
_LICENSE_FIELDS = LicenseTerms.__slots__
_VERDICT = ("screened_against", "screened_at", "screening_match")


_NOW = sa.bindparam("now", type_=_LICENSES.c.starts_at.type)


def _columns() -> list:
    other = _SEATS.alias("other")
    used = (sa.select(sa.func.count()).select_from(other)
            .where(other.c.license_id == _SEATS.c.license_id, floating.held(other, _NOW))
            .correlate(_SEATS).scalar_subquery())
    return [*(_SEATS.c[name].label(f"seat_{name}") for name in _SEAT_FIELDS),
            *(_LICENSES.c[name].label(f"license_{name}") for name in _LICENSE_FIELDS),
            _PRODUCTS.c.code.label("product_code"),
            _ACCOUNTS.c.restricted_at.label("restricted_at"),
            used.label("seats_used"),
            _LICENSES.c.account_id.label("account_id"),
            *(_ACCOUNTS.c[name].label(name) for name in _VERDICT)]


_JOINED = (_SEATS.c.license_id == _LICENSES.c.id, _LICENSES.c.product_id == _PRODUCTS.c.id,
           _LICENSES.c.account_id == _ACCOUNTS.c.id)
_BY_ID = _SEATS.c.id == sa.bindparam("seat_id")
# When a refresh may stamp its seat: the SQL form of the checks in
# ActivationService.refresh and of services.license_state, on the same instant.
# Python still decides the answer; these only keep a refused refresh from
# writing, so the statement can run outside a transaction.
ALLOWED = (
    floating.held(_SEATS, _NOW),
    _SEATS.c.device_jkt == sa.bindparam("jkt"),
    _ACCOUNTS.c.restricted_at.is_(None),
    *(_LICENSES.c.status != status for status in REFUSING_STATUSES),
    _LICENSES.c.starts_at <= _NOW,
    sa.or_(_LICENSES.c.expires_at.is_(None), _LICENSES.c.expires_at > _NOW),
)
# With denied-party screening on: a verdict that holds (made against today's list, not
# older than its provider allows) and is clear. Any other verdict is decided in Python
# first (licensing.compliance.checks), and the seat stamped after a clear one.
SCREENED = (
    _ACCOUNTS.c.screened_against == sa.bindparam("screening",
                                                 type_=_ACCOUNTS.c.screened_against.type),
    _ACCOUNTS.c.screened_at >= sa.bindparam("screened_since", type_=_ACCOUNTS.c.screened_at.type),
    _ACCOUNTS.c.screening_match.is_(None),
)


def _seconds(column) -> sa.ColumnElement:
    return sa.func.make_interval(0, 0, 0, 0, 0, 0, column, type_=sa.Interval())


def _held_until_in_sql() -> sa.ColumnElement:
    """PostgreSQL: a floating seat's hold, extended to the end of the lease being issued.

    The SQL twin of floating.hold: min(issued + lease, license end + grace), the
    lease offline or not (floating.lease_seconds), never earlier than the hold.
    """
    issued = sa.bindparam("issued", type_=_SEATS.c.held_until.type)
    lease = sa.case((_SEATS.c.offline, sa.func.least(_LICENSES.c.offline_lease_seconds,
                                                     _LICENSES.c.max_borrow_seconds)),
                    else_=_LICENSES.c.lease_seconds)
    ends = sa.func.least(issued + _seconds(lease),
                         _LICENSES.c.expires_at + _seconds(_LICENSES.c.grace_seconds))
    return sa.case((_LICENSES.c.seat_mode == floating.FLOATING,
                    sa.func.greatest(_SEATS.c.held_until, ends)), else_=_SEATS.c.held_until)


def _stamp(*extra, held_until=None, screened: bool = False) -> sa.Update:
    values = {name: sa.bindparam(name, type_=_SEATS.c[name].type) for name in STAMPED}
    if held_until is not None:
        values["held_until"] = held_until
    return (sa.update(_SEATS).values(values)
            .where(_BY_ID, _SEATS.c.license_id == _LICENSES.c.id,
                   _LICENSES.c.account_id == _ACCOUNTS.c.id, *ALLOWED,
                   *(SCREENED if screened else ()), *extra))


@functools.cache
def _select() -> sa.Select:
    return sa.select(*_columns()).where(_BY_ID, *_JOINED)


@functools.cache
def _one_statement(spend: bool, screened: bool) -> sa.Select:
    """PostgreSQL: spend the jti, stamp the seat if allowed, return the seat as it was."""
    if spend:
        spent = spend_statement("postgresql").cte("spent")
        fresh = sa.select(sa.func.count()).select_from(spent).scalar_subquery()
        touched = _stamp(sa.exists(sa.select(spent.c.jti_hash)), held_until=_held_until_in_sql(),
                         screened=screened)
    else:
        fresh = sa.literal(1)
        touched = _stamp(held_until=_held_until_in_sql(), screened=screened)
    touched = touched.returning(_SEATS.c.id).cte("touched")
    stamped = sa.select(sa.func.count()).select_from(touched).scalar_subquery()
    found = _select().subquery("found")
    # One row always, with the seat's columns NULL when there is no such seat, so
    # a replayed proof is told apart from a missing seat. Every part of the
    # statement sees the same snapshot: `found` is the seat before its stamp.
    # found.* (its columns in _columns() order, which _found reads by position): naming
    # each again would take the SQL past the 4 KiB up to which psycopg caches its parsing.
    return (sa.select(fresh.label("fresh"), stamped.label("stamped"),
                      sa.literal_column("found.*"))
            .select_from(sa.select(sa.literal(1).label("one")).subquery("one")
                         .outerjoin(found, sa.true())))


_SEAT_END = len(_SEAT_FIELDS)
_LICENSE_END = _SEAT_END + len(_LICENSE_FIELDS)


def _found(values) -> RefreshRow | None:
    """The RefreshRow of VALUES, the columns of _columns() in their order (None: no seat)."""
    if values is None or values[0] is None:
        return None
    product_code, restricted_at, seats_used, account_id, *verdict = values[_LICENSE_END:]
    return RefreshRow(SeatState(*values[:_SEAT_END]),
                      LicenseTerms(*values[_SEAT_END:_LICENSE_END]),
                      product_code, restricted_at, seats_used, account_id, Verdict(*verdict))


@functools.cache
def _driver_statement(spend: bool, screened: bool, dialect: sa.Dialect) -> tuple[str, dict]:
    """The one statement as psycopg's SQL text, with the values of its constant parameters."""
    compiled = _one_statement(spend, screened).compile(dialect=dialect)
    return str(compiled), dict(compiled.params)


def _utc(value):
    # psycopg gives timestamps in the session's time zone; the ORM's UTCDateTime gives UTC.
    return value.astimezone(timezone.utc) if type(value) is datetime else value


def _run_on_driver(connection: sa.Connection, spend: bool, screened: bool,
                   parameters: dict) -> tuple:
    """PostgreSQL through psycopg directly: one prepared statement, one tuple back.

    SQLAlchemy's execution path (statement cache look-up, parameter processing,
    result set-up) cost about as much CPU as the rest of a refresh; psycopg
    converts the statement once per connection and runs it prepared. Errors
    are raised as SQLAlchemy's, so a database outage answers 503 as anywhere
    else, and a broken connection is dropped from the pool.
    """
    sql, constants = _driver_statement(spend, screened, connection.dialect)
    driver = connection.connection.driver_connection
    try:
        row = driver.execute(sql, {**constants, **parameters}, prepare=True).fetchone()
    except psycopg.Error as exc:
        if driver.broken or driver.closed:
            connection.invalidate(exc)
        raise sa.exc.DBAPIError.instance(sql, None, exc, psycopg.Error, hide_parameters=True,
                                         dialect=connection.dialect) from exc
    return tuple(_utc(value) for value in row)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the refresh statement(s) did: jti fresh?, the seat as found, stamped?"""

    fresh: bool
    found: RefreshRow | None
    stamped: bool


def read_and_stamp(connection: sa.Connection, seat_id: str, stamp: dict, *, now: datetime,
                   jkt: str, spend: tuple[str, datetime] | None,
                   screening: tuple[str, datetime] | None = None) -> Outcome:
    """Spend the jti (when SPEND = (key, until) is given) and stamp the seat if allowed.

    SCREENING = (list, since), when denied-party screening is on: the seat is
    stamped only when the account's verdict was made against LIST, not before
    SINCE, and is clear.

    On PostgreSQL this is one statement, safe outside a transaction. On SQLite
    it is three, in the caller's transaction.
    """
    parameters = {"seat_id": seat_id, "now": now, "jkt": jkt,
                  "issued": now.replace(microsecond=0), **stamp}
    if spend is not None:
        parameters["key"], parameters["until"] = spend
    screened = screening is not None
    if screened:
        parameters["screening"], parameters["screened_since"] = screening
    if connection.dialect.name == "postgresql":
        spending = spend is not None
        if connection.dialect.driver == "psycopg" and not connection.dispatch.before_cursor_execute:
            row = _run_on_driver(connection, spending, screened, parameters)
        else:  # another driver, or someone watching the SQL (tests, bench.hotpath's count)
            row = connection.execute(_one_statement(spending, screened), parameters).one()
        return Outcome(bool(row[0]), _found(row[2:]), bool(row[1]))
    if spend is not None and connection.execute(spend_statement(connection.dialect.name),
                                                parameters).first() is None:
        return Outcome(False, None, False)
    found = _found(connection.execute(_select(), parameters).first())
    if found is None:
        return Outcome(True, None, False)
    stamped = connection.execute(_sqlite_stamp(screened), {
        **parameters, "held_until": _held_until(found, now)}).rowcount == 1
    return Outcome(True, found, stamped)


@functools.cache
def _sqlite_stamp(screened: bool) -> sa.Update:
    return _stamp(held_until=sa.bindparam("held_until", type_=_SEATS.c.held_until.type),
                  screened=screened)


def _held_until(found: RefreshRow, now: datetime) -> datetime | None:
    """SQLite: the seat's hold after this refresh, as _held_until_in_sql computes it."""
    seat, license = found.seat, found.license
    if not floating.is_floating(license):
        return seat.held_until
    ends = floating.lease_end(license, now, seat.offline)
    return ends if seat.held_until is None else max(seat.held_until, ends)
