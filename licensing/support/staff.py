"""Staff at the HTTP edge: bearer token, role, and the reason for each look-up."""

from __future__ import annotations

import functools

from flask import g, request

from core.database import db
from licensing import errors
from licensing.support.models import Staff
from licensing.support.services import STAFF_TOKEN
from licensing.support.wiring import staff_service
from privacy.audit import Access, Actor, clean_reason

__all__ = ["STAFF_TOKEN", "authenticate_staff", "allows", "staff_actor", "require_role",
           "access_reason", "request_access"]

ADMIN = "admin"
REASON_HEADER = "X-Access-Reason"


def authenticate_staff(authorization: str | None) -> Staff:
    """The active staff member whose live bearer token AUTHORIZATION carries."""
    token = STAFF_TOKEN.from_header(authorization)
    staff = staff_service().authenticate_token(token)
    # The token's last use is a fact whatever the request's outcome, so it is kept
    # now rather than with the request's own work (which may roll back).
    db.session.commit()
    return staff


def allows(staff: Staff, roles: tuple[str, ...]) -> bool:
    """Whether STAFF's role is one of ROLES (admin holds every role)."""
    return staff.role in roles or staff.role == ADMIN


def staff_actor(roles: tuple[str, ...]) -> Actor:
    """The request's staff member as an Actor, if one of ROLES (admin holds every role).

    privacy's endpoints get this function injected: staff auth lives here.
    """
    staff = authenticate_staff(request.headers.get("Authorization"))
    if not allows(staff, roles):
        raise errors.Forbidden()
    g.staff = staff
    g.actor = Actor(id=f"staff:{staff.id}", role=staff.role)
    return g.actor


def require_role(*roles: str):
    """Allow the view only to staff holding one of ROLES (admin holds every role)."""
    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            staff_actor(roles)
            return view(*args, **kwargs)
        return wrapper
    return decorate


def access_reason() -> str:
    """The X-Access-Reason every look-up of a person's data must carry (identifiers scrubbed)."""
    return clean_reason(request.headers.get(REASON_HEADER), REASON_HEADER)


def request_access(purpose: str) -> Access:
    """Who (the request's staff member) reads under PURPOSE and why (400 without a reason)."""
    return Access(g.actor, purpose, access_reason(), g.get("request_id"))
