"""Console pages: who may see which, and the privacy officer's pages."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from pages_support import post_form, sign_in_staff

from core.database import db
from privacy.models import AccessLogEntry


@pytest.mark.parametrize("role, status", [("support", 403), ("compliance", 403),
                                          ("privacy", 200), ("admin", 200)])
def test_the_ropa_page_is_for_privacy_and_admin(client, app, role, status):
    sign_in_staff(client, app, role)
    page = client.get("/console/privacy/ropa")
    assert page.status_code == status
    assert page.mimetype == "text/html"
    if status == 403:
        assert "Not allowed" in page.get_data(as_text=True)
    else:
        assert "license.activation" in page.get_data(as_text=True)


def test_the_menu_shows_only_pages_the_role_may_see(client, app):
    sign_in_staff(client, app, "support")
    html = client.get("/console/").get_data(as_text=True)
    assert "Record of processing" not in html and "Access log" not in html


def test_reading_the_access_log_is_logged_with_the_reason(client, app, world):
    world.setup()
    sign_in_staff(client, app, "privacy")
    first = post_form(client, "/console/privacy/access-log", "/console/privacy/access-log",
                      {"subject": "alice", "reason": "DSR-42 audit"})
    assert "No one has read this subject" in first.get_data(as_text=True)
    second = post_form(client, "/console/privacy/access-log", "/console/privacy/access-log",
                       {"subject": "alice", "reason": "DSR-42 second look"})
    html = second.get_data(as_text=True)
    assert "privacy.access_log.read" in html and "DSR-42 audit" in html
    with app.app_context():
        entry = db.session.scalars(sa.select(AccessLogEntry).order_by(AccessLogEntry.id)).first()
        assert entry.action == "privacy.access_log.read" and entry.reason == "DSR-42 audit"
        # The page names no pseudonym: the subject's is in the log, never on the page.
        assert entry.subject_pseudonym not in html


def test_the_access_log_lookup_needs_a_reason(client, app, world):
    world.setup()
    sign_in_staff(client, app, "privacy")
    answer = post_form(client, "/console/privacy/access-log", "/console/privacy/access-log",
                       {"subject": "alice", "reason": ""})
    assert "This field is required." in answer.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AccessLogEntry)) == 0


def test_the_request_queue_highlights_overdue_requests(client, app, world):
    from datetime import timedelta

    from core.database import utcnow
    from privacy.providers import ACCOUNT
    from privacy.wiring import request_service

    world.setup()
    world.setup(username="bob")
    with app.app_context():
        account_ids = dict(db.session.execute(sa.text("SELECT username, id FROM accounts")).all())
        service = request_service()
        service.file(ACCOUNT, account_ids["alice"], "erasure",
                     received_at=utcnow() - timedelta(days=40))
        service.file(ACCOUNT, account_ids["bob"], "objection")
        db.session.commit()
    sign_in_staff(client, app, "privacy")
    html = client.get("/console/privacy/requests").get_data(as_text=True)
    assert html.count('class="overdue"') == 1
    overdue_only = client.get("/console/privacy/requests?overdue=y").get_data(as_text=True)
    assert account_ids["alice"] in overdue_only and account_ids["bob"] not in overdue_only
    sign_in_staff(client, app, "support", name="support-person")
    assert client.get("/console/privacy/requests").status_code == 403


def test_every_console_page_keeps_the_page_rules(client, app):
    """Each page of the table, as admin: the strict policy, no script or inline style, one
    stylesheet, a label for every field and a CSRF token in every form that posts."""
    import re

    from staff_access import STAFF_ENDPOINTS, StaffWorld, call_console

    world = StaffWorld(app).build(compliance=True)
    pages = [e for e in STAFF_ENDPOINTS if e.surface == "console" and e.method == "GET"]
    assert len(pages) >= 14
    for endpoint in pages:
        answer = call_console(client, world, endpoint, "admin")
        html = answer.get_data(as_text=True)
        assert answer.status_code == 200, endpoint.label
        assert answer.headers["Content-Security-Policy"] == (
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'"), endpoint.label
        assert "<script" not in html and 'style="' not in html, endpoint.label
        assert re.findall(r'<link rel="stylesheet" href="([^"]+)"', html) == [
            "/assets/tessera.css"], endpoint.label
        labelled = set(re.findall(r'<label for="([^"]+)"', html))
        for control in re.findall(r"<(?:input|select|textarea)\b[^>]*>", html):
            if 'type="hidden"' in control:
                continue
            control_id = re.search(r'id="([^"]+)"', control).group(1)
            assert control_id in labelled, (endpoint.label, control)
        for form in re.findall(r'<form method="post".*?</form>', html, flags=re.S):
            assert re.search(r'name="([\w-]+-)?csrf_token"', form), (endpoint.label, form[:120])
