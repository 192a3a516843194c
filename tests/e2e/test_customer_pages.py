"""The Customer Area in a real browser: sign in, devices, the data export, requests, consents."""

from __future__ import annotations

import json
from pathlib import Path

from browsing import LiveHttp
from support import Device


def activate_devices(live_url: str, world, count: int) -> list[str]:
    """COUNT devices activated with alice's password over real HTTP; their activation ids."""
    http = LiveHttp(live_url)
    ids = []
    for number in range(count):
        device = Device(base_url=live_url)
        answer = device.activate(http, username="alice", password=world.password,
                                 device_name=f"Workstation {number + 1}")
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["activation_id"])
    http.close()
    return ids


def sign_in(browsing, world) -> None:
    page = browsing.page
    page.goto("/account/")
    browsing.check("sign in")
    browsing.tab_reaches_every_control()
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(world.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/account/")


def test_customer_signs_in_and_downloads_their_data(browsing, world, live_url):
    world.setup(seats=2)
    activate_devices(live_url, world, 1)
    sign_in(browsing, world)
    browsing.check("licenses and devices")
    page = browsing.page
    page.get_by_role("link", name="Privacy centre").click()
    browsing.check("privacy centre")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download my data").click()
    export = json.loads(Path(download_info.value.path()).read_text(encoding="utf-8"))
    assert export["subject"]["kind"] == "account"
    bases = {purpose["key"]: purpose["lawful_basis"] for purpose in export["purposes"]}
    assert bases and all(bases.values())
