"""Customer Area pages: devices, requests and consents through the same services as the API."""

from __future__ import annotations

from pages_support import csrf_token, post_form, sign_in_customer
from support import Device

from core.database import db
from licensing.activation.models import Seat


def activate(client, world, count: int) -> list[str]:
    ids = []
    for number in range(count):
        answer = Device().activate(client, username="alice", password=world.password,
                                   device_name=f"Workstation {number + 1}")
        assert answer.status_code == 201, answer.json
        ids.append(answer.json["activation_id"])
    return ids


def test_the_start_page_lists_licenses_and_devices(client, world):
    world.setup(seats=2)
    activate(client, world, 2)
    sign_in_customer(client, "alice", world.password)
    html = client.get("/account/").get_data(as_text=True)
    assert "numflo" in html and "2 of 2" in html
    assert "Workstation 1" in html and "Workstation 2" in html


def test_deactivating_needs_the_confirmation_box(client, app, world):
    world.setup(seats=2)
    first, _ = activate(client, world, 2)
    sign_in_customer(client, "alice", world.password)
    refused = post_form(client, "/account/", f"/account/devices/{first}/deactivate", {})
    assert refused.status_code == 302
    with app.app_context():
        assert db.session.get(Seat, first).released_at is None
    done = post_form(client, "/account/", f"/account/devices/{first}/deactivate",
                     {f"{first}-confirm": "y"})
    assert done.status_code == 302
    with app.app_context():
        assert db.session.get(Seat, first).release_reason == "deactivated"
    assert "Workstation 1" not in client.get("/account/").get_data(as_text=True)


def test_another_accounts_device_is_not_found(client, world):
    world.setup(seats=1)
    (alices,) = activate(client, world, 1)
    world.setup(seats=1, username="bob")
    sign_in_customer(client, "bob", world.password)
    answer = post_form(client, "/account/", f"/account/devices/{alices}/deactivate",
                       {f"{alices}-confirm": "y"})
    assert answer.status_code == 404
    assert answer.mimetype == "text/html"


def test_a_cross_site_post_without_the_token_deactivates_nothing(client, app, world):
    world.setup(seats=1)
    (seat_id,) = activate(client, world, 1)
    sign_in_customer(client, "alice", world.password)
    # Another site can make the browser post with its cookie, but cannot read the token.
    forged = client.post(f"/account/devices/{seat_id}/deactivate",
                         data={f"{seat_id}-confirm": "y"},
                         headers={"Origin": "https://evil.example",
                                  "Referer": "https://evil.example/"})
    assert forged.status_code == 400
    with app.app_context():
        assert db.session.get(Seat, seat_id).released_at is None


def test_filing_a_request_shows_it_with_its_due_date(client, world):
    world.setup()
    sign_in_customer(client, "alice", world.password)
    answer = post_form(client, "/account/privacy/", "/account/privacy/requests",
                       {"type": "erasure", "note": "Please erase my account."})
    assert answer.status_code == 302
    html = client.get("/account/privacy/").get_data(as_text=True)
    assert "request is received" in html
    assert "erasure" in html and "received" in html
    again = post_form(client, "/account/privacy/", "/account/privacy/requests",
                      {"type": "erasure"})
    assert again.status_code == 409
    assert "open" in again.get_data(as_text=True).lower()


def test_a_rectification_needs_a_field_to_change(client, world):
    world.setup()
    sign_in_customer(client, "alice", world.password)
    answer = post_form(client, "/account/privacy/", "/account/privacy/requests",
                       {"type": "rectification"})
    assert answer.status_code == 400


def test_consent_is_given_and_withdrawn_in_one_click(client, world):
    world.setup()
    sign_in_customer(client, "alice", world.password)
    page = client.get("/account/privacy/").get_data(as_text=True)
    assert "Give consent to marketing" in page
    given = post_form(client, "/account/privacy/", "/account/privacy/consents/marketing",
                      {"marketing-granted": "yes"})
    assert given.status_code == 302
    page = client.get("/account/privacy/").get_data(as_text=True)
    assert "Withdraw consent to marketing" in page
    token = csrf_token(page)
    withdrawn = client.post("/account/privacy/consents/marketing",
                            data={"csrf_token": token, "marketing-granted": "no"})
    assert withdrawn.status_code == 302
    consents = client.get("/account/privacy/").get_data(as_text=True)
    assert "Give consent to marketing" in consents


def test_the_pages_show_nothing_to_someone_signed_out(client):
    for page in ("/account/", "/account/privacy/", "/account/privacy/export"):
        assert client.get(page).headers["Location"].endswith("/account/sign-in")
