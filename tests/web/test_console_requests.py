"""Deciding data-subject requests in the console: complete, extend, reject, each with reasons."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from pages_support import post_form, sign_in_staff

from core.database import db, utcnow
from licensing.accounts.models import Account
from privacy.models import AccessLogEntry
from privacy.providers import ACCOUNT
from privacy.requests.models import SubjectRequest
from privacy.wiring import request_service


def _file(app, kind: str, days_ago: int = 0, details=None) -> str:
    with app.app_context():
        account_id = db.session.scalar(sa.select(Account.id).where(Account.username == "alice"))
        filed = request_service().file(ACCOUNT, account_id, kind, details,
                                       received_at=utcnow() - timedelta(days=days_ago))
        db.session.commit()
        return filed.id


def _request(app, request_id: str) -> SubjectRequest:
    with app.app_context():
        found = db.session.get(SubjectRequest, request_id)
        db.session.expunge_all()
        return found


def _log(app) -> list[tuple[str, str]]:
    with app.app_context():
        return [(e.action, e.reason) for e in db.session.scalars(
            sa.select(AccessLogEntry).order_by(AccessLogEntry.id))]


def test_completing_a_restriction_restricts_the_account(client, app, world):
    world.setup()
    request_id = _file(app, "restriction")
    sign_in_staff(client, app, "privacy")
    page = f"/console/privacy/requests/{request_id}"
    assert "Carry out the restriction request" in client.get(page).get_data(as_text=True)
    unreasoned = post_form(client, page, f"{page}/complete", {"complete-confirm": "y"})
    assert unreasoned.status_code == 400
    assert _request(app, request_id).status == "received"
    done = post_form(client, page, f"{page}/complete",
                     {"complete-reason": "DSR-5 by email", "complete-confirm": "y"})
    assert done.status_code == 302
    assert _request(app, request_id).status == "completed"
    with app.app_context():
        assert db.session.scalar(sa.select(Account.restricted_at).where(
            Account.username == "alice")) is not None
    assert ("privacy.request.restriction", "DSR-5 by email") in _log(app)
    html = client.get(page).get_data(as_text=True)
    assert "completed" in html and "Carry out" not in html


def test_extending_and_rejecting_keep_both_reasons(client, app, world):
    world.setup()
    objection = _file(app, "objection")
    rectification = _file(app, "rectification", details={"name": "Alicia"})
    sign_in_staff(client, app, "privacy")
    page = f"/console/privacy/requests/{objection}"
    extended = post_form(client, page, f"{page}/extend",
                         {"extend-months": "2", "extend-subject_reason": "Needs a legal look",
                          "extend-reason": "DSR-6"})
    assert extended.status_code == 302
    request = _request(app, objection)
    assert (request.status, request.extended_months) == ("extended", 2)
    assert request.extension_reason == "Needs a legal look"
    twice = post_form(client, page, f"{page}/extend",
                      {"extend-months": "1", "extend-subject_reason": "Again please",
                       "extend-reason": "DSR-6"})
    assert twice.status_code == 409
    assert "already been extended" in twice.get_data(as_text=True)

    page = f"/console/privacy/requests/{rectification}"
    rejected = post_form(client, page, f"{page}/reject",
                         {"reject-subject_reason": "The name on file is right",
                          "reject-reason": "DSR-7", "reject-confirm": "y"})
    assert rejected.status_code == 302
    request = _request(app, rectification)
    assert request.status == "rejected"
    assert request.outcome == {"reason": "The name on file is right"}
    assert ("privacy.request.extend", "DSR-6") in _log(app)
    assert ("privacy.request.reject", "DSR-7") in _log(app)


def test_an_overdue_request_stays_highlighted_on_its_page(client, app, world):
    world.setup()
    late = _file(app, "erasure", days_ago=40)
    sign_in_staff(client, app, "privacy")
    queue = client.get("/console/privacy/requests").get_data(as_text=True)
    assert 'class="overdue"' in queue
    assert f'href="/console/privacy/requests/{late}"' in queue
    page = client.get(f"/console/privacy/requests/{late}").get_data(as_text=True)
    assert "card--overdue" in page and "past its due date" in page
    refused = post_form(client, f"/console/privacy/requests/{late}",
                        f"/console/privacy/requests/{late}/extend",
                        {"extend-months": "1", "extend-subject_reason": "Too late now",
                         "extend-reason": "DSR-8"})
    assert refused.status_code == 409
    assert "within the first month" in refused.get_data(as_text=True)


def test_request_actions_answer_403_to_support(client, app, world):
    world.setup()
    request_id = _file(app, "restriction")
    sign_in_staff(client, app, "support")
    page = f"/console/privacy/requests/{request_id}"
    assert client.get(page).status_code == 403
    refused = post_form(client, "/console/search", f"{page}/complete",
                        {"complete-reason": "DSR-9", "complete-confirm": "y"})
    assert refused.status_code == 403
    assert _request(app, request_id).status == "received"
