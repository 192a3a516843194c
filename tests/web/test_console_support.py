"""Console pages for support: search, license and device views, release with a reason, codes."""

from __future__ import annotations

import sqlalchemy as sa
from pages_support import post_form, sign_in_staff
from support import Device

from core.database import db, utcnow
from licensing.accounts.models import Account
from licensing.activation.models import Seat
from privacy.models import AccessLogEntry


def activate(client, world) -> str:
    answer = Device().activate(client, username="alice", password=world.password,
                               device_name="Lab PC")
    assert answer.status_code == 201, answer.json
    return answer.json["activation_id"]


def search(client, by: str, query: str, reason: str = "TICKET-7 lost laptop"):
    return post_form(client, "/console/search", "/console/search",
                     {"by": by, "query": query, "reason": reason})


def access_log(app) -> list[tuple[str, str]]:
    with app.app_context():
        return [(e.action, e.reason) for e in db.session.scalars(
            sa.select(AccessLogEntry).order_by(AccessLogEntry.id))]


def test_search_by_email_shows_it_masked_and_logs_the_reason(client, app, world):
    license_id = world.setup()
    sign_in_staff(client, app, "support")
    html = search(client, "email", "alice@example.com").get_data(as_text=True)
    assert "a***@example.com" in html
    assert "alice@example.com" not in html
    assert license_id in html
    assert access_log(app) == [("support.account.lookup", "TICKET-7 lost laptop")]


def test_search_needs_a_reason_and_reads_nothing_without_it(client, app, world):
    world.setup()
    sign_in_staff(client, app, "support")
    answer = search(client, "username", "alice", reason="")
    assert answer.status_code == 200
    assert "This field is required." in answer.get_data(as_text=True)
    assert access_log(app) == []


def test_release_with_a_reason_frees_the_seat_and_logs_it(client, app, world):
    license_id = world.setup()
    seat_id = activate(client, world)
    sign_in_staff(client, app, "support")
    search(client, "username", "alice")
    page = client.get(f"/console/licenses/{license_id}").get_data(as_text=True)
    assert "Lab PC" in page
    refused = post_form(client, f"/console/licenses/{license_id}",
                        f"/console/licenses/{license_id}/activations/{seat_id}/release",
                        {f"{seat_id}-reason": "TICKET-7 laptop stolen"})
    assert refused.status_code == 302
    with app.app_context():
        assert db.session.get(Seat, seat_id).released_at is None
    done = post_form(client, f"/console/licenses/{license_id}",
                     f"/console/licenses/{license_id}/activations/{seat_id}/release",
                     {f"{seat_id}-reason": "TICKET-7 laptop stolen", f"{seat_id}-confirm": "y"})
    assert done.status_code == 302
    with app.app_context():
        assert db.session.get(Seat, seat_id).release_reason == "support"
    assert ("support.activation.release", "TICKET-7 laptop stolen") in access_log(app)
    assert Device().refresh(client, seat_id).status_code in (401, 410)


def test_a_fresh_code_is_shown_once(client, app, world):
    license_id = world.setup()
    sign_in_staff(client, app, "support")
    search(client, "username", "alice")
    answer = post_form(client, f"/console/licenses/{license_id}",
                       f"/console/licenses/{license_id}/codes",
                       {"days": "7", "reason": "TICKET-8 new machine"})
    assert answer.status_code == 201
    html = answer.get_data(as_text=True)
    assert "shown only now" in html
    assert ("support.license.code", "TICKET-8 new machine") in access_log(app)
    assert "shown only now" not in client.get(f"/console/licenses/{license_id}").get_data(
        as_text=True)


def test_a_license_opened_directly_asks_for_a_reason_first(client, app, world):
    license_id = world.setup()
    sign_in_staff(client, app, "support")
    page = client.get(f"/console/licenses/{license_id}")
    assert "Why open this record?" in page.get_data(as_text=True)
    assert access_log(app) == []
    opened = post_form(client, f"/console/licenses/{license_id}",
                       f"/console/licenses/{license_id}", {"reason": "TICKET-9 audit"})
    assert opened.status_code == 302
    assert "Seats in use" in client.get(f"/console/licenses/{license_id}").get_data(as_text=True)
    assert access_log(app) == [("support.license.read", "TICKET-9 audit")]


def test_a_restricted_account_is_marked_and_offers_no_action(client, app, world):
    license_id = world.setup()
    activate(client, world)
    with app.app_context():
        db.session.execute(sa.update(Account).values(restricted_at=utcnow()))
        db.session.commit()
    sign_in_staff(client, app, "support")
    found = search(client, "username", "alice").get_data(as_text=True)
    assert "Restricted." in found
    page = client.get(f"/console/licenses/{license_id}").get_data(as_text=True)
    assert "Restricted account." in page
    assert "Release Lab PC" not in page and "Issue a fresh code" not in page
    assert page.count("<form") == 1  # only the sign-out form


def test_pages_for_other_roles_answer_403_to_support(client, app):
    sign_in_staff(client, app, "support")
    for page in ("/console/privacy/requests", "/console/privacy/ropa",
                 "/console/privacy/access-log"):
        answer = client.get(page)
        assert answer.status_code == 403, page
        assert answer.mimetype == "text/html"


def test_support_pages_answer_403_to_privacy_officers(client, app, world):
    license_id = world.setup()
    sign_in_staff(client, app, "privacy")
    assert client.get("/console/search").status_code == 403
    assert client.get(f"/console/licenses/{license_id}").status_code == 403


def test_a_device_is_found_by_its_id_which_is_not_shown_again(client, app, world):
    license_id = world.setup()
    device = Device()
    answer = device.activate(client, username="alice", password=world.password,
                             device_name="Lab PC")
    assert answer.status_code == 201
    sign_in_staff(client, app, "support")
    found = post_form(client, "/console/search", "/console/devices",
                      {"device-product": "numflo", "device-fingerprint": device.fingerprint,
                       "device-reason": "TICKET-10 which machine?"})
    html = found.get_data(as_text=True)
    assert found.status_code == 200
    assert license_id in html and "Lab PC" in html
    assert device.fingerprint not in html
    assert access_log(app) == [("support.device.lookup", "TICKET-10 which machine?")]
