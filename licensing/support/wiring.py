"""Build the staff services on the request's (or command's) session.

The JSON views, the CLI and the console pages all get their services here.
"""

from __future__ import annotations

from flask import current_app

from core.database import db
from licensing.admin.services import AdminService
from licensing.support.lookups import SupportService
from licensing.support.services import StaffService
from licensing.support.signin import StaffConsoleSessionService, StaffSignInService
from licensing.wiring import components
from privacy.audit import Access
from privacy.wiring import audit_service


def staff_service() -> StaffService:
    """Staff accounts and API tokens."""
    parts = components()
    return StaffService(db.session, parts.pseudonymizer, parts.passwords)


def sign_in_service() -> StaffSignInService:
    """The staff console's name + password + TOTP check, with its attempt limits."""
    parts = components()
    return StaffSignInService(db.session, parts.passwords, parts.rate_limits)


def console_session_service() -> StaffConsoleSessionService:
    """Staff console sessions, ending TESSERA_STAFF_SESSION_SECONDS after sign-in."""
    return StaffConsoleSessionService(db.session, components().pseudonymizer,
                                      current_app.config["TESSERA_STAFF_SESSION_SECONDS"])


def admin_service() -> AdminService:
    """The service behind `flask admin` and /v1/admin."""
    parts = components()
    return AdminService(db.session, parts.pseudonymizer, parts.passwords)


def support_service(access: Access) -> SupportService:
    """Support's look-ups and actions, each logged as ACCESS."""
    return SupportService(db.session, components().pseudonymizer, audit_service(), access,
                          admin_service())
