"""Seat limits under real concurrency: several gunicorn workers on PostgreSQL.

SQLite serialises writers by design, so these races are only meaningful on
PostgreSQL; CI runs them there.
"""

from __future__ import annotations

import threading
import time
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
        from core.database import db
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


def test_refresh_racing_a_deactivation_never_leases_the_released_seat(app, client, world):
    """The refresh reads its seat, then waits on the seat's row lock held by a release.

    When the release commits, the refresh's stamp no longer applies: it answers
    503 (the device retries), and its retry gets 410. No lease for a released seat.
    """
    from core.database import db

    world.setup()
    device = Device()
    activation_id = device.activate(client, **world.credentials()).json["activation_id"]
    with app.app_context():
        engine = db.engine
    path = f"/v1/activations/{activation_id}/refresh"
    answers = []
    with engine.connect() as releaser:
        releaser.execute(sa.text("UPDATE seats SET released_at = now() WHERE id = :id"),
                         {"id": activation_id})
        refreshing = threading.Thread(target=lambda: answers.append(
            client.post(path, json={}, headers={"DPoP": device.proof("POST", path)})))
        refreshing.start()
        # The refresh is blocked on the row lock once PostgreSQL says so (asked on
        # a connection of its own: a transaction sees one snapshot of the statistics).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watcher:
            for _ in range(100):
                waiting = watcher.execute(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()")).scalar()
                if waiting or answers:
                    break
                time.sleep(0.02)
        assert waiting, "the refresh never waited on the seat's lock"
        releaser.commit()
        refreshing.join(10)
    (raced,) = answers
    assert raced.status_code == 503 and raced.json["code"] == "UNAVAILABLE"
    retried = device.refresh(client, activation_id)
    assert retried.status_code == 410 and retried.json["code"] == "ACTIVATION_RELEASED"


def test_fifty_devices_race_for_three_just_lapsed_floating_seats(app, client, world, server):
    """Lapsed seats are freed and counted under the license lock: exactly three win."""
    license_id = world.setup(seats=3, seat_mode="floating")
    away = [Device() for _ in range(3)]
    held = [device.activate(client, **world.credentials()).json["activation_id"]
            for device in away]
    assert Device().activate(client, **world.credentials()).status_code == 409
    with app.app_context():
        from core.database import db
        db.session.execute(sa.text(
            "UPDATE seats SET held_until = now() - interval '1 second' WHERE license_id = :l"),
            {"l": license_id})
        db.session.commit()
    statuses = _race(server, [Device() for _ in range(50)], world.credentials())
    assert statuses.count(201) == 3, statuses
    assert statuses.count(409) == 47, statuses
    assert _active_seats(app, license_id) == 3
    with app.app_context():
        reasons = db.session.execute(sa.text(
            "SELECT release_reason FROM seats WHERE id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)), {"ids": held}).scalars().all()
    assert reasons == ["lapsed"] * 3
    device, activation_id = away[0], held[0]
    device.base_url = server
    path = f"/v1/activations/{activation_id}/refresh"
    answer = requests.post(server + path, json={}, headers={"DPoP": device.proof("POST", path)},
                           timeout=30)
    assert answer.status_code == 410
