"""Races across two gunicorn instances sharing PostgreSQL (and Redis).

Both instances sit behind one public URL, as behind a load balancer, so a
proof made for one is valid at the other except for its spent jti.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import pytest
import requests
import sqlalchemy as sa
from conftest import POSTGRES_URL, make_config
from live import live_server, server_env
from support import Device

from core.database import db

pytestmark = [
    pytest.mark.reliability,
    pytest.mark.slow,
    pytest.mark.skipif(not POSTGRES_URL, reason="races between instances need PostgreSQL "
                                                "(set TESSERA_TEST_DATABASE_URL)"),
]

PUBLIC_URL = "https://licensing.example.test"
REDIS_URL = "redis://127.0.0.1:6379/0"
ROUNDS = 100
DEVICES = 50
# The races are about seats, not attempt limits: room for every request of every round.
GENEROUS = "100000 per minute"


class Cluster:
    """Two instances; requests go to one or the other by index."""

    def __init__(self, urls: list[str], folder):
        self.urls = urls
        self.folder = folder

    def post(self, index: int, path: str, device: Device, body: dict, proof: str | None = None):
        proof = proof or device.proof("POST", path)
        return requests.post(self.urls[index % 2] + path, json=body,
                             headers={"DPoP": proof}, timeout=60)


@pytest.fixture(scope="module", params=["redis", "database"],
                ids=["replay-in-redis", "replay-in-database"])
def cluster(request, migrated, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cluster")
    extra = {"TESSERA_PUBLIC_URL": PUBLIC_URL, "TESSERA_RATELIMIT_STORAGE_URI": REDIS_URL,
             "TESSERA_RATELIMIT_ADDRESS_ATTEMPTS": GENEROUS,
             "TESSERA_RATELIMIT_ACCOUNT_ATTEMPTS": GENEROUS}
    if request.param == "redis":
        extra["TESSERA_REDIS_URL"] = REDIS_URL
    env = server_env(migrated, folder / "instance", **extra)
    with ExitStack() as stack:
        urls = [stack.enter_context(live_server(env, workers=3, log_path=folder / f"{n}.log"))
                for n in range(2)]
        yield Cluster(urls, folder)
    logs = "".join((folder / f"{n}.log").read_text(errors="replace") for n in range(2))
    assert "Traceback" not in logs


@pytest.fixture
def app_config(cluster, migrated):
    """The test's app shares the instances' secrets (same instance folder)."""
    return make_config(migrated, cluster.folder)


def _device() -> Device:
    return Device(base_url=PUBLIC_URL)


def _race(cluster: Cluster, body_for) -> list[requests.Response]:
    devices = [_device() for _ in range(DEVICES)]
    proofs = [d.proof("POST", "/v1/activations") for d in devices]
    barrier = threading.Barrier(DEVICES)

    def attempt(n: int) -> requests.Response:
        barrier.wait()
        return cluster.post(n, "/v1/activations", devices[n], body_for(devices[n]), proofs[n])

    with ThreadPoolExecutor(DEVICES) as pool:
        return list(pool.map(attempt, range(DEVICES)))


def _active_seats(app, license_id: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.text(
            "SELECT count(*) FROM seats WHERE license_id = :l AND released_at IS NULL"),
            {"l": license_id})


def test_seat_limit_holds_round_after_round(app, world, cluster, figures, request):
    started, overruns, outcomes = time.monotonic(), [], {}
    for round_number in range(ROUNDS):
        seats = round_number % 5 + 1
        license_id = world.setup(seats=seats, product=f"race{round_number}")
        responses = _race(cluster, lambda d, p=f"race{round_number}": d.activation_body(
            p, **world.credentials()))
        statuses = [r.status_code for r in responses]
        for status in statuses:
            outcomes[status] = outcomes.get(status, 0) + 1
        active = _active_seats(app, license_id)
        expected = seats == active == statuses.count(201) == DEVICES - statuses.count(409)
        if not expected:
            overruns.append((round_number, seats, active, sorted(set(statuses))))
    elapsed = time.monotonic() - started
    name = request.node.callspec.id
    figures[f"races[{name}]"] = {"rounds": ROUNDS, "devices_per_round": DEVICES,
                                 "overruns": len(overruns), "statuses": outcomes,
                                 "seconds": round(elapsed, 1)}
    assert overruns == []
    assert not any(status >= 500 for status in outcomes), outcomes


def test_proof_replayed_to_the_other_instance_is_refused(world, cluster):
    world.setup(seats=3)
    device = _device()
    body = device.activation_body(**world.credentials())
    proof = device.proof("POST", "/v1/activations")
    assert cluster.post(0, "/v1/activations", device, body, proof).status_code == 201
    replay = cluster.post(1, "/v1/activations", device, body, proof)
    assert (replay.status_code, replay.json()["code"]) == (401, "INVALID_PROOF")
    again = cluster.post(0, "/v1/activations", device, body, proof)
    assert again.status_code == 401
    # The same device with a fresh proof is served by either instance.
    assert cluster.post(1, "/v1/activations", device, body).status_code == 200


def test_concurrent_refresh_from_both_instances_keeps_one_seat(app, world, cluster):
    license_id = world.setup(seats=2)
    device = _device()
    first = cluster.post(0, "/v1/activations", device, device.activation_body(
        **world.credentials()))
    activation_id = first.json()["activation_id"]
    path = f"/v1/activations/{activation_id}/refresh"
    proofs = [device.proof("POST", path) for _ in range(20)]
    twin_body = device.activation_body(**world.credentials())
    barrier = threading.Barrier(len(proofs) + 10)

    def refresh(n: int):
        barrier.wait()
        return cluster.post(n, path, device, {}, proofs[n])

    def reactivate(n: int):
        barrier.wait()
        return cluster.post(n, "/v1/activations", device, twin_body)

    with ThreadPoolExecutor(len(proofs) + 10) as pool:
        refreshes = [pool.submit(refresh, n) for n in range(len(proofs))]
        reactivations = [pool.submit(reactivate, n) for n in range(10)]
        responses = [f.result() for f in refreshes + reactivations]
    assert [r.status_code for r in responses] == [200] * len(responses)
    assert {r.json()["activation_id"] for r in responses} == {activation_id}
    assert {r.json()["license"]["seats_used"] for r in responses} == {1}
    assert _active_seats(app, license_id) == 1
