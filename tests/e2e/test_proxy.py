"""Tessera behind a real nginx terminating TLS in front of two instances.

The nginx configuration includes deploy/nginx/proxy-params.conf, the file an
operator deploys. Needs Debian's nginx (`make tools` installs it).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager

import pytest
import requests
import sqlalchemy as sa
from conftest import make_config
from live import free_port, live_gunicorn, server_env
from nginx import available, nginx_in_front
from requests.adapters import HTTPAdapter
from support import Device

from core.database import db
from licensing.activation.models import Seat

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not available() and not os.environ.get("TESSERA_REQUIRE_NGINX"),
                       reason="needs Debian's nginx (make tools installs it)"),
]

REDIS_URL = "redis://127.0.0.1:6379/0"
FAILURES_ALLOWED = 4


class FromAddress(HTTPAdapter):
    """Connect from one loopback address, as a client elsewhere would."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


class Cluster:
    def __init__(self, url: str, cert, processes, folder):
        self.url, self.cert, self.processes, self.folder = url, str(cert), processes, folder

    def session(self, address: str = "127.0.0.1") -> requests.Session:
        session = requests.Session()
        session.mount("https://", FromAddress(address))
        session.verify = self.cert
        session.trust_env = False  # REQUESTS_CA_BUNDLE would replace the proxy's certificate
        return session

    def activate(self, session, device: Device, body: dict, **headers):
        proof = device.proof("POST", "/v1/activations")
        return session.post(self.url + "/v1/activations", json=body, timeout=60,
                            headers={"DPoP": proof, **headers})


@contextmanager
def cluster_of_two(migrated, folder):
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    env = server_env(migrated, folder / "instance", TESSERA_TRUSTED_PROXIES="1",
                     TESSERA_PUBLIC_URL=url, TESSERA_TRUSTED_COUNTRY_HEADER="CF-IPCountry",
                     TESSERA_REDIS_URL=REDIS_URL, TESSERA_RATELIMIT_STORAGE_URI=REDIS_URL,
                     TESSERA_RATELIMIT_ACCOUNT_FAILURES=f"{FAILURES_ALLOWED} per hour",
                     TESSERA_RATELIMIT_ADDRESS_ATTEMPTS="10000 per minute",
                     TESSERA_RATELIMIT_ACCOUNT_ATTEMPTS="10000 per minute")
    with ExitStack() as stack:
        started = [stack.enter_context(live_gunicorn(env, workers=2,
                                                     log_path=folder / f"{n}.log"))
                   for n in range(2)]
        cert = stack.enter_context(nginx_in_front([u for u, _ in started], folder / "nginx",
                                                  port))
        yield Cluster(url, cert, [p for _, p in started], folder)
    logs = "".join((folder / f"{n}.log").read_text(errors="replace") for n in range(2))
    assert "Traceback" not in logs


@pytest.fixture
def cluster(migrated, tmp_path):
    with cluster_of_two(migrated, tmp_path) as running:
        yield running


@pytest.fixture
def app_config(migrated, tmp_path):
    """The test's app shares the instances' secrets (same instance folder)."""
    return make_config(migrated, tmp_path)


def _seat(app, activation_id: str) -> Seat:
    with app.app_context():
        seat = db.session.get(Seat, activation_id)
        db.session.expunge_all()
        return seat


def test_proof_url_address_and_country_are_the_proxys_not_the_clients(app, world, cluster):
    world.setup()
    device = Device(base_url=cluster.url)
    forged = {"X-Forwarded-For": "198.51.100.7", "CF-IPCountry": "KP",
              "Forwarded": "for=198.51.100.7"}
    answer = cluster.activate(cluster.session("127.1.2.3"), device,
                              device.activation_body(**world.credentials()), **forged)
    assert answer.status_code == 201, answer.text
    seat = _seat(app, answer.json()["activation_id"])
    # nginx appended the real peer; the country is the one nginx located.
    assert (seat.ip_prefix, seat.country) == ("127.1.2.0/24", "DE")


def test_a_proof_made_for_an_instances_own_url_is_refused_through_the_proxy(world, cluster):
    world.setup()
    device = Device(base_url="http://127.0.0.1:8000")
    answer = cluster.activate(cluster.session(), device,
                              device.activation_body(**world.credentials()))
    assert answer.status_code == 401 and answer.json()["code"] == "INVALID_PROOF"


def test_attempt_limits_hold_across_both_instances(world, cluster):
    world.setup()
    session, codes = cluster.session(), []
    for _ in range(FAILURES_ALLOWED + 3):
        device = Device(base_url=cluster.url)
        body = device.activation_body(username="alice", password="wrong password!")
        codes.append(cluster.activate(session, device, body).status_code)
    # nginx alternates instances: per-process counts would allow twice as many.
    assert codes[:FAILURES_ALLOWED] == [401] * FAILURES_ALLOWED
    assert set(codes[FAILURES_ALLOWED:]) == {429}


def test_one_instance_killed_under_load_fails_over_and_writes_nothing_by_half(app, world,
                                                                             cluster):
    license_id = world.setup(seats=500)
    stop, answers, lock = threading.Event(), [], threading.Lock()

    def load(worker: int):
        session = cluster.session()
        while not stop.is_set():
            device = Device(base_url=cluster.url)
            answer = cluster.activate(session, device,
                                      device.activation_body(**world.credentials()))
            with lock:
                answers.append((device, answer.status_code, time.monotonic()))

    with ThreadPoolExecutor(6) as pool:
        running = [pool.submit(load, n) for n in range(6)]
        time.sleep(3)
        killed_at = time.monotonic()
        os.killpg(cluster.processes[0].pid, signal.SIGKILL)
        time.sleep(4)
        stop.set()
        for future in running:
            future.result()
    counts = {s: sum(1 for _, x, _ in answers if x == s) for _, s, _ in answers}
    assert set(counts) <= {201, 502, 503}, counts
    assert any(status == 201 and at > killed_at + 1 for _, status, at in answers)
    # Every device that got an answer has a whole seat or none; retrying makes it whole.
    retry = cluster.session()
    for device, status, _ in answers:
        again = cluster.activate(retry, device, device.activation_body(**world.credentials()))
        assert again.status_code == (200 if status == 201 else again.status_code)
        assert again.status_code in (200, 201)
    with app.app_context():
        active = db.session.scalar(sa.select(sa.func.count()).select_from(Seat).where(
            Seat.license_id == license_id, Seat.released_at.is_(None)))
    assert active == len(answers)
