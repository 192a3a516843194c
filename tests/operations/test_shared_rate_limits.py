"""Attempt limits hold as written across workers: the embedded default counts in one shared store."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from limits import parse
from limits.strategies import FixedWindowRateLimiter

from conftest import POSTGRES_URL
from live import live_server, server_env
from support import Device

PATH = "/v1/activations"


def wrong_password(username: str) -> dict:
    return {"username": username, "password": "not the password"}


def attempt(client, body: dict):
    device = Device()
    return client.post(PATH, json=device.activation_body(**body),
                       headers={"DPoP": device.proof("POST", PATH)},
                       environ_base={"REMOTE_ADDR": "198.51.100.7"})


def test_the_embedded_default_shares_counts_between_processes(app_config, app, world,
                                                              app_factory):
    """Two apps stand for two gunicorn workers: with no Redis they still count together."""
    assert "TESSERA_RATELIMIT_STORAGE_URI" not in app_config
    app_config["TESSERA_RATELIMIT_ACCOUNT_FAILURES"] = "4 per hour"
    first, second = app_factory(), app_factory()
    world.setup(username="carol")
    clients = [first.test_client(), second.test_client()]
    statuses = [attempt(clients[n % 2], wrong_password("carol")).status_code for n in range(4)]
    assert statuses == [401] * 4
    for client in clients:
        refused = attempt(client, world.credentials("carol"))
        assert refused.status_code == 429 and refused.json["code"] == "RATE_LIMITED"


@pytest.fixture(params=["sqlite", "postgresql"])
def storage_url(request, tmp_path, database_urls):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ratelimit.sqlite3'}"
    if not POSTGRES_URL:
        pytest.skip("needs TESSERA_TEST_DATABASE_URL")
    # This run's own database: dropped with it, never shared with another run.
    return database_urls["default"]


def test_database_counts_are_exact_under_concurrency(storage_url):
    from core.ratelimit import DatabaseStorage

    storage = DatabaseStorage(storage_url)
    storage.reset()
    try:
        limiter = FixedWindowRateLimiter(storage)
        item = parse("50 per hour")
        with ThreadPoolExecutor(8) as pool:
            allowed = list(pool.map(lambda _: limiter.hit(item, "tessera", "k"), range(80)))
        assert allowed.count(True) == 50
        assert not limiter.test(item, "tessera", "k")
        assert limiter.test(item, "tessera", "other")
        stats = limiter.get_window_stats(item, "tessera", "k")
        assert stats.remaining == 0 and stats.reset_time > 0
    finally:
        storage.reset()
        storage.dispose()


def test_a_window_that_has_ended_starts_again(tmp_path):
    from core.ratelimit import DatabaseStorage

    now = [1000.0]
    storage = DatabaseStorage(f"sqlite:///{tmp_path / 'r.sqlite3'}", clock=lambda: now[0])
    limiter = FixedWindowRateLimiter(storage)
    item = parse("2 per minute")
    assert [limiter.hit(item, "k") for _ in range(3)] == [True, True, False]
    now[0] += 61
    assert limiter.hit(item, "k") and storage.get(item.key_for("k")) == 1
    storage.dispose()


def test_a_database_store_tests_and_counts_in_one_statement(storage_url):
    import sqlalchemy as sa

    from core.errors import RateLimited
    from core.ratelimit import Counter, DatabaseStorage, RateLimitService

    storage = DatabaseStorage(storage_url)
    storage.reset()
    attempts_limit = parse("2 per minute")
    service = RateLimitService(FixedWindowRateLimiter(storage),
                               {"attempts": attempts_limit, "failures": parse("1 per hour")},
                               b"k" * 32)
    attempts, failures = Counter("attempts", "198.51.100.7"), Counter("failures", "198.51.100.7")
    other = Counter("attempts", "203.0.113.9")

    def counted(counter):
        return storage.get(attempts_limit.key_for("tessera", "attempts",
                                                  service._subject_key(counter)))
    storage.get("warm")  # the table is made on first use
    seen = []
    sa.event.listen(storage._engine, "before_cursor_execute",
                    lambda *args: seen.append(args[2].split(None, 1)[0]))
    service.guard(hit=[attempts], test=[failures])
    assert seen == ["INSERT"] and counted(attempts) == 1
    service.failed(failures)
    with pytest.raises(RateLimited):  # the failure budget is spent: refused, nothing counted
        service.guard(hit=[attempts], test=[failures])
    assert counted(attempts) == 1
    service.guard(hit=[other, Counter("failures", "account")])  # two hits at once
    service.guard(hit=[other])
    with pytest.raises(RateLimited) as refused:  # two per minute: the third is refused
        service.guard(hit=[other])
    assert counted(other) == 2 and 1 <= int(refused.value.headers["Retry-After"]) <= 60
    storage.dispose()


@pytest.mark.slow
def test_limits_hold_across_the_workers_of_a_live_server(app, migrated, tmp_path, world):
    world.setup(username="dave")
    env = server_env(migrated, tmp_path / "instance",
                     TESSERA_RATELIMIT_ACCOUNT_FAILURES="6 per hour",
                     TESSERA_RATELIMIT_ACCOUNT_ATTEMPTS="1000 per minute",
                     TESSERA_RATELIMIT_ADDRESS_ATTEMPTS="1000 per minute")
    with live_server(env, workers=2, log_path=tmp_path / "server.log") as base_url:
        def post(body: dict) -> requests.Response:
            device = Device(base_url=base_url)
            return requests.post(base_url + PATH, json=device.activation_body(**body),
                                 headers={"DPoP": device.proof("POST", PATH)}, timeout=30)

        with ThreadPoolExecutor(6) as pool:
            failures = list(pool.map(lambda _: post(wrong_password("dave")).status_code,
                                     range(6)))
        assert failures == [401] * 6
        refused = [post(world.credentials("dave")) for _ in range(4)]
        assert all(r.status_code == 429 for r in refused)
