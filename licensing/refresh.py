"""The refresh hot path's SQL: a seat, its license, and the stamp of this refresh.

Every installed product refreshes on a schedule, so this is the statement the
service runs most. It is built once per dialect and read as Core rows: loading
two ORM entities cost more CPU than the query itself.

On PostgreSQL one statement does the whole database side of a refresh: it
spends the proof's jti, stamps the seat (``last_refresh_at`` and where the
request came from) and returns the seat, its license terms, the product code,
the account's restriction and the seats in use. The caller checks the row and
raises when the refresh is refused; the rollback then undoes the stamp.
Stamping under the UPDATE's row lock also means a refresh that races a
deactivation sees the released seat, never the row as it was before.

SQLite cannot return joined columns from an UPDATE, nor write in a WITH
clause, so there the same columns come from a SELECT followed by an UPDATE.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from licensing.dpop import spend_statement
from licensing.models import Account, License, Product, Seat

_SEATS, _LICENSES = Seat.__table__, License.__table__
_PRODUCTS, _ACCOUNTS = Product.__table__, Account.__table__
STAMPED = ("last_refresh_at", "country", "ip_prefix", "ip_prefix_at")


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


@dataclass(frozen=True, slots=True)
class RefreshRow:
    """What one refresh statement found."""

    seat: SeatState
    license: LicenseTerms
    product_code: str
    restricted_at: datetime | None
    seats_used: int


_SEAT_FIELDS = SeatState.__slots__
_LICENSE_FIELDS = LicenseTerms.__slots__


def _columns() -> list:
    other = _SEATS.alias("other")
    used = (sa.select(sa.func.count()).select_from(other)
            .where(other.c.license_id == _SEATS.c.license_id, other.c.released_at.is_(None))
            .correlate(_SEATS).scalar_subquery())
    return [*(_SEATS.c[name].label(f"seat_{name}") for name in _SEAT_FIELDS),
            *(_LICENSES.c[name].label(f"license_{name}") for name in _LICENSE_FIELDS),
            _PRODUCTS.c.code.label("product_code"),
            _ACCOUNTS.c.restricted_at.label("restricted_at"),
            used.label("seats_used")]


_JOINED = (_SEATS.c.license_id == _LICENSES.c.id, _LICENSES.c.product_id == _PRODUCTS.c.id,
           _LICENSES.c.account_id == _ACCOUNTS.c.id)
_STAMP_VALUES = {name: sa.bindparam(name, type_=_SEATS.c[name].type) for name in STAMPED}
_BY_ID = _SEATS.c.id == sa.bindparam("seat_id")


@functools.cache
def _postgresql(spend: bool) -> sa.Select:
    touched = (sa.update(_SEATS).where(_BY_ID, *_JOINED).values(_STAMP_VALUES)
               .returning(*_columns()).cte("touched"))
    if spend:
        spent = spend_statement("postgresql").cte("spent")
        fresh = sa.select(sa.func.count().label("fresh")).select_from(spent)
    else:
        fresh = sa.select(sa.literal(1).label("fresh"))
    fresh = fresh.subquery("fresh")
    # One row always: whether the jti was fresh, and the seat's columns (NULL
    # when there is no such seat), so a replayed proof is told apart from a
    # missing seat.
    return (sa.select(fresh.c.fresh, *touched.c)
            .select_from(fresh.outerjoin(touched, sa.true())))


@functools.cache
def _select() -> sa.Select:
    return sa.select(*_columns()).where(_BY_ID, *_JOINED)


_STAMP = sa.update(_SEATS).where(_BY_ID).values(_STAMP_VALUES)


def _found(row) -> RefreshRow | None:
    if row is None or row.seat_id is None:
        return None
    return RefreshRow(
        SeatState(*(getattr(row, f"seat_{name}") for name in _SEAT_FIELDS)),
        LicenseTerms(*(getattr(row, f"license_{name}") for name in _LICENSE_FIELDS)),
        row.product_code, row.restricted_at, row.seats_used)


def read_and_stamp(connection: sa.Connection, seat_id: str, stamp: dict,
                   spend: tuple[str, datetime] | None) -> tuple[bool, RefreshRow | None]:
    """Spend the jti (when SPEND = (key, until) is given) and stamp the seat.

    Returns whether the jti was fresh, and the seat as found (None when there
    is no such seat). The caller's transaction holds every change.
    """
    parameters = {"seat_id": seat_id, **stamp}
    if connection.dialect.name == "postgresql":
        if spend is not None:
            parameters["key"], parameters["until"] = spend
        row = connection.execute(_postgresql(spend is not None), parameters).first()
        return bool(row.fresh), _found(row)
    if spend is not None:
        key, until = spend
        spent = connection.execute(spend_statement(connection.dialect.name),
                                   {"key": key, "until": until}).first()
        if spent is None:
            return False, None
    found = _found(connection.execute(_select(), parameters).first())
    if found is not None:
        connection.execute(_STAMP, parameters)
    return True, found
