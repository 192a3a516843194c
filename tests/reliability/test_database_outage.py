"""PostgreSQL goes away under load, and comes back; slow and blocked queries.

During the outage the service answers only 503 UNAVAILABLE (never a
traceback, never half a write); once the server is back the very next
request succeeds, because pooled connections are pinged before use.
"""

from __future__ import annotations

import collections
import threading
import time

import pytest
import requests
import sqlalchemy as sa
from conftest import POSTGRES_URL, World, make_config, migrate_to_head
from live import live_server, server_env
from pgcluster import AVAILABLE, throwaway_cluster
from support import Device

from core.database import db
from licensing import create_app

pytestmark = [
    pytest.mark.reliability,
    pytest.mark.skipif(not POSTGRES_URL, reason="database outages are tested on PostgreSQL "
                                                "(set TESSERA_TEST_DATABASE_URL)"),
]


class Load:
    """Refreshes of one activation and activations by code, in threads, recorded."""

    def __init__(self, base_url: str, refresher: Device, activation_id: str, codes: list[str]):
        self.base_url = base_url
        self.refresher = refresher
        self.activation_id = activation_id
        self.codes = collections.deque(codes)
        self.records: list[tuple[float, str, int, str | None, str | None]] = []
        self.running = threading.Event()
        self.stopped = threading.Event()
        self._lock = threading.Lock()

    def _refresh(self) -> tuple[str, requests.Response, str | None]:
        path = f"/v1/activations/{self.activation_id}/refresh"
        self.refresher.base_url = self.base_url
        proof = self.refresher.proof("POST", path)
        return "refresh", requests.post(self.base_url + path, json={},
                                        headers={"DPoP": proof}, timeout=30), None

    def _activate(self) -> tuple[str, requests.Response, str | None] | None:
        with self._lock:
            if not self.codes:
                return None  # every code used: an outage answers fast, and each try spends one
            code = self.codes.popleft()
        device = Device(base_url=self.base_url)
        body = device.activation_body(activation_code=code)
        return "activate", requests.post(self.base_url + "/v1/activations", json=body,
                                         headers={"DPoP": device.proof("POST", "/v1/activations")},
                                         timeout=30), code

    def worker(self, kind) -> None:
        while not self.stopped.is_set():
            if not self.running.wait(timeout=0.05):
                continue
            sent = time.monotonic()
            made = kind()
            if made is None:
                return
            name, response, code = made
            body = response.json() if response.content else {}
            with self._lock:
                self.records.append((sent, name, response.status_code, body.get("code"), code))
            time.sleep(0.02)


def _migrated_cluster(pg, folder) -> dict:
    admin = sa.create_engine(pg.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in ("tessera", "tessera_c"):
            connection.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return migrate_to_head({"default": pg.url("tessera"), "compliance": pg.url("tessera_c")},
                           folder)


def _write_consistency(app) -> dict:
    with app.app_context():
        scalar = db.session.scalar
        redeemed = scalar(sa.text("SELECT count(*) FROM activation_codes "
                                  "WHERE redeemed_at IS NOT NULL"))
        orphaned = scalar(sa.text(
            "SELECT count(*) FROM activation_codes c WHERE c.redeemed_at IS NOT NULL AND "
            "NOT EXISTS (SELECT 1 FROM seats s WHERE s.id = c.seat_id "
            "AND s.released_at IS NULL)"))
        seats = scalar(sa.text("SELECT count(*) FROM seats WHERE released_at IS NULL"))
        db.session.remove()
        return {"redeemed": redeemed, "orphaned": orphaned, "seats": seats}


@pytest.mark.slow
@pytest.mark.skipif(not AVAILABLE, reason="needs initdb and pg_ctl on PATH")
def test_refresh_load_through_a_postgresql_restart(tmp_path, figures):
    with throwaway_cluster() as pg:
        urls = _migrated_cluster(pg, tmp_path)
        app = create_app(make_config(urls, tmp_path))
        world = World(app)
        license_id = world.setup(seats=500)
        codes = [world.code(license_id) for _ in range(300)]
        # The load is about the database, not attempt limits: room for all of it.
        env = server_env(urls, tmp_path / "instance",
                         TESSERA_RATELIMIT_ADDRESS_ATTEMPTS="100000 per minute")
        log_path = tmp_path / "server.log"
        with live_server(env, workers=2, log_path=log_path) as base_url:
            refresher = Device(base_url=base_url)
            first = requests.post(base_url + "/v1/activations", json=refresher.activation_body(
                **world.credentials()), headers={"DPoP": refresher.proof("POST",
                                                                         "/v1/activations")})
            assert first.status_code == 201, first.text
            load = Load(base_url, refresher, first.json()["activation_id"], codes)
            threads = [threading.Thread(target=load.worker, args=(kind,))
                       for kind in (load._refresh, load._refresh, load._activate)]
            for thread in threads:
                thread.start()
            try:
                load.running.set()
                time.sleep(2)
                pg.stop("fast")
                down_at = time.monotonic()
                time.sleep(4)
                load.running.clear()
                time.sleep(0.5)  # let requests in flight finish
                up_from = time.monotonic()
                pg.start()
                # The first request once the server is back: one worker's pooled
                # connections are all dead, and pre-ping must replace them.
                after = load._refresh()[1]
                load.running.set()
                time.sleep(3)
            finally:
                load.stopped.set()
                for thread in threads:
                    thread.join()
        log = log_path.read_text(errors="replace")
        consistency = _write_consistency(app)
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()

    during = [r for r in load.records if down_at <= r[0] < up_from]
    later = [r for r in load.records if r[0] >= up_from]
    seen = collections.Counter(f"{status} {code}" if code else str(status)
                               for _, _, status, code, _ in during)
    figures["outage"] = {"seconds": round(up_from - down_at, 1), "requests": len(during),
                         "codes_during": dict(seen), "requests_after": len(later),
                         "first_after": after.status_code, "consistency": consistency}
    assert after.status_code == 200, after.text
    assert during and all((status, code) == (503, "UNAVAILABLE")
                          for _, _, status, code, _ in during), seen
    after_codes = collections.Counter(status for _, _, status, _, _ in later)
    assert later and set(after_codes) <= {200, 201}, after_codes
    assert {status for _, _, status, _, _ in load.records} <= {200, 201, 503}
    assert "Traceback" not in log
    # Never half a write: every redeemed code has its seat, every seat but the
    # first came from a code, and every code answered 201 is redeemed.
    won = sum(1 for _, name, status, _, _ in load.records if name == "activate" and status == 201)
    assert consistency["orphaned"] == 0
    assert consistency["seats"] == consistency["redeemed"] + 1
    assert consistency["redeemed"] >= won > 0


def _hold_license_lock(app, license_id: str, held: threading.Event, release: threading.Event):
    with app.app_context():
        with db.engine.connect() as connection:
            with connection.begin():
                connection.execute(sa.text("SELECT id FROM licenses WHERE id = :i FOR UPDATE"),
                                   {"i": license_id})
                held.set()
                release.wait(timeout=30)


@pytest.mark.parametrize("timeouts", [
    {"TESSERA_LOCK_TIMEOUT_MS": 300, "TESSERA_STATEMENT_TIMEOUT_MS": 5000},
    {"TESSERA_LOCK_TIMEOUT_MS": 10000, "TESSERA_STATEMENT_TIMEOUT_MS": 300},
], ids=["lock_timeout", "statement_timeout"])
def test_a_blocked_activation_is_503_within_the_timeout(app, world, app_factory, timeouts):
    blocked_app = app_factory(**timeouts)
    with blocked_app.app_context():
        shown = dict(db.session.execute(sa.text(
            "SELECT name, setting FROM pg_settings "
            "WHERE name IN ('lock_timeout', 'statement_timeout')")).all())
        db.session.remove()
    assert shown == {"lock_timeout": str(timeouts["TESSERA_LOCK_TIMEOUT_MS"]),
                     "statement_timeout": str(timeouts["TESSERA_STATEMENT_TIMEOUT_MS"])}
    license_id = world.setup(seats=2)
    held, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_license_lock, args=(app, license_id, held, release))
    holder.start()
    try:
        assert held.wait(timeout=10)
        started = time.monotonic()
        response = Device().activate(blocked_app.test_client(), **world.credentials())
        elapsed = time.monotonic() - started
    finally:
        release.set()
        holder.join()
    assert (response.status_code, response.json["code"]) == (503, "UNAVAILABLE")
    assert elapsed < 3
    assert "Traceback" not in response.get_data(as_text=True)


def test_a_slow_query_is_503(app, app_factory):
    slow_app = app_factory(TESSERA_STATEMENT_TIMEOUT_MS=200)

    @slow_app.route("/slow")
    def slow():
        db.session.execute(sa.text("SELECT pg_sleep(2)"))
        return {}

    with slow_app.app_context():
        assert db.session.scalar(sa.text("SHOW statement_timeout")) == "200ms"
        db.session.remove()
    response = slow_app.test_client().get("/slow")
    assert (response.status_code, response.json["code"]) == (503, "UNAVAILABLE")
    assert set(response.json) == {"code", "message", "errors"}
