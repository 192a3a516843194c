"""The staff console in a real browser: TOTP sign-in, search, release with a reason, roles."""

from __future__ import annotations

import pyotp
from browsing import LiveHttp, identifier_canaries, shown_identifiers
from pages_support import STAFF_PASSWORD, create_staff
from support import Device


def sign_in(browsing, name: str, secret: str | None) -> None:
    page = browsing.page
    page.goto("/console/")
    page.wait_for_url("**/console/sign-in")
    browsing.check("console sign in")
    browsing.tab_reaches_every_control()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    if secret:
        page.get_by_label("Code from your authenticator app (if enabled)").fill(
            pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/console/")


def test_support_signs_in_with_totp_finds_an_account_and_releases_a_seat(
        browsing, app, world, live_url):
    license_id = world.setup(seats=2)
    device = Device(base_url=live_url)
    http = LiveHttp(live_url)
    answer = device.activate(http, username="alice", password=world.password,
                             device_name="Lab PC")
    assert answer.status_code == 201, answer.text
    seat_id = answer.json()["activation_id"]
    name, secret = create_staff(app, "support", totp=True)
    page = browsing.page

    sign_in(browsing, name, secret)
    browsing.check("console start")
    page.get_by_role("navigation").get_by_role("link", name="Search").click()
    browsing.check("search")
    page.get_by_label("Search by").select_option("email")
    page.get_by_label("Username or email (exact)").fill("alice@example.com")
    page.locator("#reason").fill("TICKET-7 lost laptop")
    page.get_by_role("button", name="Search", exact=True).click()
    assert page.get_by_text("a***@example.com").is_visible()
    browsing.check("account found")

    page.get_by_role("link", name=license_id).click()
    page.wait_for_url(f"**/console/licenses/{license_id}")
    assert page.get_by_role("cell", name="Lab PC", exact=True).is_visible()
    browsing.check("license and devices")
    page.get_by_label("Reason for the release (ticket or text)").fill("TICKET-7 laptop stolen")
    page.get_by_label("Yes, release this seat").check()
    page.get_by_role("button", name="Release Lab PC").click()
    page.wait_for_url(f"**/console/licenses/{license_id}")
    assert page.get_by_text("The seat is released").is_visible()
    browsing.check("seat released")

    refreshed = device.refresh(http, seat_id)
    http.close()
    assert refreshed.status_code == 410, refreshed.text
    assert refreshed.json()["code"] == "ACTIVATION_RELEASED"

    forbidden = page.goto("/console/privacy/requests")
    assert forbidden.status == 403
    assert page.get_by_role("heading", name="Not allowed").is_visible()
    browsing.check("privacy queue refused")

    canaries = identifier_canaries(app, ["alice@example.com"], [device.fingerprint])
    assert any(what.startswith("device pseudonym") for what in canaries)
    assert any(what.startswith("subject pseudonym") for what in canaries)
    assert shown_identifiers(browsing.seen, canaries) == []
