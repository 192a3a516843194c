"""Staff bearer tokens: authenticate, then allow by role."""

from __future__ import annotations

import functools

import sqlalchemy as sa
from flask import g, request

from core.database import db
from core.tokens import TokenKind
from licensing import errors
from licensing.support.models import Staff
from licensing.wiring import components
from privacy import pseudonym as domains
from privacy.audit import Access, Actor, clean_reason
from privacy.wiring import audit_service

# Staff API tokens.
STAFF_TOKEN = TokenKind("tss_")


def authenticate_staff(authorization: str | None) -> Staff:
    """The active staff member whose bearer token this is."""
    token = STAFF_TOKEN.from_header(authorization)
    digests = [p.value for p in components().pseudonymizer.candidates(domains.STAFF_TOKEN, token)]
    # The look-up is by HMAC, so no secret is compared byte by byte here.
    staff = db.session.scalar(sa.select(Staff).where(Staff.token_hmac.in_(digests)))
    if staff is None or staff.disabled_at is not None:
        raise STAFF_TOKEN.invalid()
    return staff


def staff_actor(roles: tuple[str, ...]) -> Actor:
    """The request's staff member as an Actor, if one of ROLES (admin holds every role).

    privacy's endpoints get this function injected: staff auth lives here.
    """
    staff = authenticate_staff(request.headers.get("Authorization"))
    if staff.role not in roles and staff.role != "admin":
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
    return clean_reason(request.headers.get("X-Access-Reason"), "X-Access-Reason")


def record_access(purpose: str, reason: str, subject_id: str, action: str) -> None:
    """Record in the access log that the request's staff member acted on SUBJECT_ID's data."""
    audit_service().record(Access(g.actor, purpose, reason, g.get("request_id")), subject_id,
                           action)
