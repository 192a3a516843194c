"""Helpers for page tests: read a form's CSRF token and post it like a browser."""

from __future__ import annotations

import re

CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on the page."""
    found = CSRF_INPUT.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def post_form(client, page: str, action: str, data: dict, **kwargs):
    """Load PAGE, then post DATA with that page's CSRF token to ACTION."""
    token = csrf_token(client.get(page).get_data(as_text=True))
    return client.post(action, data={"csrf_token": token, **data}, **kwargs)


def sign_in_customer(client, username: str, password: str):
    """Sign in through the Customer Area's form."""
    return post_form(client, "/account/sign-in", "/account/sign-in",
                     {"username": username, "password": password})


def sign_in_staff(client, app, role: str, name: str | None = None) -> None:
    """A console session for a new staff member of ROLE."""
    from licensing.admin.services import AdminService
    from core.database import db
    from licensing.wiring import components

    with app.app_context():
        parts = components()
        token, _ = AdminService(db.session, parts.pseudonymizer, parts.passwords).create_staff(
            name or f"{role}-officer", role)
        db.session.commit()
    with client.session_transaction() as session:
        session["staff_session"] = token
