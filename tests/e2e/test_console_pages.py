"""The staff console in a real browser: TOTP sign-in, search, release with a reason, roles,
the compliance queues with a second officer's approval, and the admin pages."""

from __future__ import annotations

import re

import pyotp
from browsing import LiveHttp, identifier_canaries, shown_identifiers
from pages_support import STAFF_PASSWORD, add_recipient, create_staff, plant_record
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

    forbidden = page.goto("/console/compliance/records")
    assert forbidden.status == 403
    assert page.get_by_role("heading", name="Not allowed").is_visible()
    browsing.check("compliance queue refused")

    canaries = identifier_canaries(app, ["alice@example.com"], [device.fingerprint])
    assert any(what.startswith("device pseudonym") for what in canaries)
    assert any(what.startswith("subject pseudonym") for what in canaries)
    assert shown_identifiers(browsing.seen, canaries) == []


def flashed(page) -> str:
    """The messages the page was redirected with."""
    return page.get_by_role("status").inner_text()


def sign_out(browsing) -> None:
    page = browsing.page
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/console/sign-in")


def test_a_compliance_officer_discloses_and_a_second_officer_approves(
        browsing, app, world, live_url):
    license_id = world.setup()
    record_id = plant_record(app, license_id)
    add_recipient(app, "law_enforcement", "Federal Police")
    first, _ = create_staff(app, "compliance", name="first-officer")
    second, _ = create_staff(app, "compliance", name="second-officer")
    page = browsing.page

    sign_in(browsing, first, None)
    page.get_by_role("navigation").get_by_role("link", name="Records").click()
    page.wait_for_url("**/console/compliance/records")
    assert page.get_by_role("cell").get_by_text(record_id, exact=True).is_visible()
    browsing.check("records queue")
    page.get_by_label("Kind", exact=True).select_option("foreign_key_refresh")
    page.get_by_role("button", name="Filter").click()
    assert page.get_by_role("cell").get_by_text(record_id, exact=True).is_visible()
    page.get_by_label("Reason for the hold (ticket or text)").fill("LEGAL-12 pending suit")
    page.get_by_role("button", name=f"Put on hold {record_id}").click()
    assert f"Record {record_id} is on legal hold." in flashed(page)
    browsing.check("record on hold")

    page.get_by_role("link", name=f"Disclose {record_id}").click()
    page.wait_for_url("**/console/compliance/disclosures?record=*")
    assert page.get_by_label("Record ids (separated by spaces or commas)").input_value() == \
        record_id
    browsing.check("new disclosure")
    browsing.tab_reaches_every_control()
    page.get_by_label("Recipient").select_option(label="Federal Police (law_enforcement)")
    page.get_by_role("button", name="Disclose").click()
    assert "needs a legal reference" in page.get_by_role("alert").inner_text()
    browsing.check("disclosure refused without a legal reference")
    page.get_by_label("Legal reference (order or case number; law enforcement)").fill("ORDER-77")
    page.get_by_label(re.compile("Re-identify the account")).check()
    page.get_by_role("button", name="Disclose").click()
    page.wait_for_url("**/console/compliance/disclosures")
    assert "waits for a second compliance officer" in flashed(page)
    assert page.get_by_text("a second compliance officer must approve it").is_visible()
    assert page.get_by_role("button", name=re.compile("^Approve ")).count() == 0
    browsing.check("disclosure awaiting approval")
    sign_out(browsing)

    sign_in(browsing, second, None)
    page.get_by_role("navigation").get_by_role("link", name="Disclosures").click()
    page.wait_for_url("**/console/compliance/disclosures")
    browsing.check("second officer sees the queue")
    page.get_by_label("Yes, I am the second officer and approve this disclosure").check()
    page.get_by_role("button", name=re.compile("^Approve dis_")).click()
    page.wait_for_url("**/console/compliance/disclosures")
    assert "is approved and queued for delivery" in flashed(page)
    assert page.get_by_role("cell", name="pending", exact=False).count() >= 1
    browsing.check("disclosure approved")

    canaries = identifier_canaries(app, ["alice@example.com"], [])
    assert any(what.startswith("subject pseudonym") for what in canaries)
    assert shown_identifiers(browsing.seen, canaries) == []


def test_an_admin_creates_a_product_and_issues_a_license(browsing, app, world, live_url):
    world.setup()
    name, secret = create_staff(app, "admin", totp=True)
    page = browsing.page

    sign_in(browsing, name, secret)
    page.get_by_role("navigation").get_by_role("link", name="Products").click()
    page.wait_for_url("**/console/admin/products")
    browsing.check("products")
    page.get_by_label("Code").fill("solvr")
    page.get_by_label("Name").fill("Solvr Studio")
    page.get_by_label("Device ID match").select_option("most")
    page.get_by_role("button", name="Create the product").click()
    assert "Product solvr is created." in flashed(page)
    assert page.get_by_role("cell", name="Solvr Studio").is_visible()
    browsing.check("product created")

    page.get_by_role("navigation").get_by_role("link", name="Licenses").click()
    page.wait_for_url("**/console/admin/licenses")
    browsing.check("licenses")
    browsing.tab_reaches_every_control()
    page.get_by_label("Account id or username", exact=True).fill("alice")
    page.get_by_label("Product", exact=True).select_option("solvr")
    page.get_by_label("Kind", exact=True).select_option("subscription")
    page.get_by_label("Seats", exact=True).fill("5")
    page.get_by_role("button", name="Issue the license").click()
    page.wait_for_url("**/console/admin/licenses/lic_*")
    assert re.search(r"License lic_\S+ is issued.", flashed(page))
    assert page.get_by_text("5 (node_locked)").is_visible()
    browsing.check("license issued")
    page.get_by_role("button", name="Issue a code").click()
    assert page.get_by_text("It is shown only now").is_visible()
    browsing.check("code issued")

    page.get_by_role("navigation").get_by_role("link", name="Recipients").click()
    page.wait_for_url("**/console/admin/recipients")
    browsing.check("recipients")
    page.get_by_role("navigation").get_by_role("link", name="Staff").click()
    page.wait_for_url("**/console/admin/staff")
    browsing.check("staff")

    canaries = identifier_canaries(app, ["alice@example.com"], [])
    assert shown_identifiers(browsing.seen, canaries) == []
