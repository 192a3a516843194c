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


STAFF_PASSWORD = "staff password of some length"


def create_staff(app, role: str, name: str | None = None, totp: bool = False):
    """A staff member of ROLE with a console password; their name and TOTP secret (or None)."""
    from core.database import db
    from licensing.support.wiring import staff_service

    name = name or f"{role}-officer"
    with app.app_context():
        service = staff_service()
        _, staff = service.create(name, role, STAFF_PASSWORD)
        secret = service.enable_totp(staff) if totp else None
        db.session.commit()
    return name, secret


def sign_in_staff(client, app, role: str, name: str | None = None):
    """A new staff member of ROLE, signed in to the console through its form."""
    name, _ = create_staff(app, role, name)
    answer = post_form(client, "/console/sign-in", "/console/sign-in",
                       {"name": name, "password": STAFF_PASSWORD})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return answer


# A recipient endpoint nothing listens on: an immediate delivery fails at once and the
# disclosure stays pending in the outbox, as it would with a recipient that is down.
CLOSED_ENDPOINT = "http://127.0.0.1:9/disclosures"


def plant_record(app, license_id: str, kind: str = "foreign_key_refresh",
                 country: str | None = "DE") -> str:
    """A compliance record about LICENSE_ID's holder, as the detection writes it; its id."""
    import sqlalchemy as sa

    from core.database import db
    from licensing.compliance.signals import Signal, record
    from privacy.legal.models import LegalRecord

    with app.app_context():
        record(Signal(kind, license_id=license_id, country=country,
                      evidence={"license_status": "revoked"}))
        found = db.session.scalar(sa.select(LegalRecord.id).where(LegalRecord.kind == kind,
                                                                   LegalRecord.status == "open"))
        db.session.remove()
        return found


def add_recipient(app, category: str, name: str | None = None,
                  endpoint: str = CLOSED_ENDPOINT) -> str:
    """A registered recipient of CATEGORY; its id."""
    from core.database import db
    from licensing.compliance.wiring import disclosure_service

    with app.app_context():
        recipient = disclosure_service().add_recipient(name or f"A {category}", category,
                                                       endpoint, allow_http=True)
        db.session.commit()
        return recipient.id
