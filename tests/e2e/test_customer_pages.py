"""The Customer Area in a real browser: sign in, devices, the data export, requests, consents."""

from __future__ import annotations

import json
from pathlib import Path

import requests
from browsing import LiveHttp
from support import Device


def activate_devices(live_url: str, world, count: int) -> list[tuple[str, Device]]:
    """COUNT devices activated with alice's password over real HTTP, with their ids."""
    http = LiveHttp(live_url)
    activated = []
    for number in range(count):
        device = Device(base_url=live_url)
        answer = device.activate(http, username="alice", password=world.password,
                                 device_name=f"Workstation {number + 1}")
        assert answer.status_code == 201, answer.text
        activated.append((answer.json()["activation_id"], device))
    http.close()
    return activated


def give_marketing_consent(live_url: str, world) -> None:
    """Consent given earlier through the JSON API, so that the page can withdraw it."""
    token = requests.post(f"{live_url}/v1/session", json=world.credentials(),
                          timeout=10).json()["token"]
    answer = requests.put(f"{live_url}/v1/me/consents/marketing", json={"granted": True},
                          headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert answer.status_code == 200 and answer.json()["granted"] is True


def sign_in(browsing, world) -> None:
    page = browsing.page
    page.goto("/account/")
    browsing.check("sign in")
    browsing.tab_reaches_every_control()
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(world.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/account/")


def test_customer_manages_devices_data_requests_and_consents(browsing, world, live_url):
    license_id = world.setup(seats=2)
    (first, first_device), (second, _) = activate_devices(live_url, world, 2)
    give_marketing_consent(live_url, world)
    page = browsing.page
    sign_in(browsing, world)
    devices = page.get_by_role("table", name="Active devices")
    assert devices.get_by_role("row").count() == 3  # the heading row and two devices
    browsing.check("licenses and two devices")

    page.get_by_label("Yes, deactivate this device").first.check()
    page.get_by_role("button", name="Deactivate Workstation 1").click()
    page.wait_for_url("**/account/")
    assert page.get_by_text("The device is deactivated").is_visible()
    assert devices.get_by_role("row").count() == 2
    browsing.check("one device deactivated")
    http = LiveHttp(live_url)
    assert first_device.refresh(http, first).status_code == 410
    http.close()

    page.get_by_role("navigation").get_by_role("link", name="Privacy centre").click()
    browsing.check("privacy centre")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download my data").click()
    export = json.loads(Path(download_info.value.path()).read_text(encoding="utf-8"))
    mine = export["data"]["licensing"]
    active = [seat for seat in mine["seats"] if not seat.get("released_at")]
    assert [seat["activation_id"] for seat in active] == [second]
    assert active[0]["device_name"] == "Workstation 2"
    assert [lic["id"] for lic in mine["licenses"]] == [license_id]
    bases = {purpose["key"]: purpose["lawful_basis"] for purpose in export["purposes"]}
    assert bases["license.activation"] == "contract" and bases["marketing"] == "consent"

    page.get_by_label("Kind of request").select_option("erasure")
    page.get_by_label("Anything we should know (optional)").fill("Please erase my account.")
    page.get_by_role("button", name="Send the request").click()
    page.wait_for_url("**/account/privacy/")
    assert page.get_by_text("Your erasure request is received").is_visible()
    requests_table = page.get_by_role("table", name="Requests you have made")
    assert requests_table.get_by_role("cell", name="erasure").is_visible()
    browsing.check("erasure request filed")

    page.get_by_role("button", name="Withdraw consent to marketing").click()
    page.wait_for_url("**/account/privacy/")
    assert page.get_by_text("Consent withdrawn from marketing").is_visible()
    assert page.get_by_role("button", name="Give consent to marketing").is_visible()
    browsing.check("consent withdrawn")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/account/sign-in")
    page.goto("/account/privacy/")
    assert page.url.endswith("/account/sign-in")
