"""Seat limits under real concurrency: several gunicorn workers on PostgreSQL.

SQLite serialises writers by design, so these races are only meaningful on
PostgreSQL; CI runs them there.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa

from conftest import POSTGRES_URL
from live import live_server, server_env
from support import Device

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not POSTGRES_URL, reason="seat races need PostgreSQL "
                                                "(set TESSERA_TEST_DATABASE_URL)"),
]


def _race(base_url: str, devices: list[Device], body: dict) -> list[int]:
    barrier = threading.Barrier(len(devices))

    def attempt(device: Device) -> int:
        device.base_url = base_url
        payload = device.activation_body(**body)
        with requests.Session() as session:
            barrier.wait()
            proof = device.proof("POST", "/v1/activations")
            return session.post(base_url + "/v1/activations", json=payload,
                                headers={"DPoP": proof}, timeout=60).status_code

    with ThreadPoolExecutor(len(devices)) as pool:
        return list(pool.map(attempt, devices))


@pytest.fixture
def server(app, migrated, tmp_path):
    # Fifty attempts on one account in a second are over its attempt limit (30 a
    # minute); these tests are about seats, so the limits are lifted rather than
    # left to how a burst happens to spread over per-process counters.
    env = server_env(migrated, tmp_path / "instance",
                     TESSERA_RATELIMIT_ADDRESS_ATTEMPTS="100000 per minute",
                     TESSERA_RATELIMIT_ACCOUNT_ATTEMPTS="100000 per minute")
    with live_server(env, workers=4, log_path=tmp_path / "server.log") as base_url:
        yield base_url


def _active_seats(app, license_id: str) -> int:
    with app.app_context():
        from licensing.extensions import db
        return db.session.scalar(sa.text(
            "SELECT count(*) FROM seats WHERE license_id = :l AND released_at IS NULL"),
            {"l": license_id})


def test_fifty_devices_race_for_three_seats(app, world, server):
    license_id = world.setup(seats=3)
    statuses = _race(server, [Device() for _ in range(50)], world.credentials())
    assert statuses.count(201) == 3, statuses
    assert statuses.count(409) == 47, statuses
    assert _active_seats(app, license_id) == 3


def test_one_device_twenty_times_takes_one_seat(app, world, server):
    license_id = world.setup(seats=3)
    twin = Device()
    devices = [Device(fingerprint=twin.fingerprint) for _ in range(20)]
    statuses = _race(server, devices, world.credentials())
    assert all(status in (200, 201) for status in statuses), statuses
    assert statuses.count(201) == 1, statuses
    assert _active_seats(app, license_id) == 1


def test_code_redeemed_once_under_race(app, world, server):
    license_id = world.setup(seats=10)
    code = world.code(license_id)
    statuses = _race(server, [Device() for _ in range(10)], {"activation_code": code})
    assert statuses.count(201) == 1, statuses
    assert statuses.count(401) == 9, statuses
    assert _active_seats(app, license_id) == 1
