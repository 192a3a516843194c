"""Attempt limits: per client address, per account, on failed passwords and codes.

Limits are counted in a `limits` storage: process memory by default,
Redis when configured (shared by workers and instances). When Redis does not
answer, each process counts in its own memory: activation keeps working and
the limits still hold per process.
"""

from __future__ import annotations

import logging
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from live import free_port, live_server, server_env
from support import Device

from core.ratelimit import Counter, RateLimitService
from licensing import errors

pytestmark = pytest.mark.reliability

PATH = "/v1/activations"
REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


needs_redis = pytest.mark.skipif(not _redis_up(), reason="needs Redis on 127.0.0.1:6379")


def attempt(client, body: dict, address: str = "198.51.100.7", device: Device | None = None):
    device = device or Device()
    return client.post(PATH, json=device.activation_body(**body),
                       headers={"DPoP": device.proof("POST", PATH)},
                       environ_base={"REMOTE_ADDR": address})


def assert_limited(response, *, at_most: int):
    assert response.status_code == 429, response.get_data(as_text=True)
    assert response.json["code"] == "RATE_LIMITED"
    assert 1 <= int(response.headers["Retry-After"]) <= at_most


def wrong_password(username: str = "alice") -> dict:
    return {"username": username, "password": "not the password"}


@pytest.fixture
def limits(app_config, app, app_factory):
    """Extend the config with tight limits before a test builds its own app.

    Asking for `app` too empties the tables after the test.
    """
    def configure(**values):
        app_config.update({f"TESSERA_RATELIMIT_{k.upper()}": v for k, v in values.items()})
    return configure


def test_each_client_address_has_its_own_budget(app_config, limits, app_factory):
    limits(address_attempts="5 per minute")
    app = app_factory()
    client = app.test_client()
    statuses = [attempt(client, wrong_password()).status_code for _ in range(5)]
    assert statuses == [401] * 5
    assert_limited(attempt(client, wrong_password()), at_most=60)
    assert attempt(client, wrong_password(), address="203.0.113.9").status_code == 401


def test_hundred_failures_per_account_per_hour_however_the_address_rotates(
        app_config, limits, world, app_factory, figures):
    limits(address_attempts="1000 per minute", account_attempts="1000 per minute")
    app_config["TESSERA_TRUSTED_PROXIES"] = 1
    app = app_factory()
    world.setup(username="alice")
    world.setup(username="bob")
    client = app.test_client()

    def through_proxy(body, n):
        device = Device()
        return client.post(PATH, json=device.activation_body(**body),
                           headers={"DPoP": device.proof("POST", PATH),
                                    "X-Forwarded-For": f"10.{n // 250}.{n % 250}.1"})

    statuses = [through_proxy(wrong_password(), n).status_code for n in range(100)]
    assert statuses == [401] * 100
    # The 101st attempt is refused before the password is looked at, right or wrong.
    refused = [through_proxy(world.credentials("alice"), 101),
               through_proxy(wrong_password("ALICE "), 102)]
    for response in refused:
        assert_limited(response, at_most=3600)
    figures["rate limit: failures per account"] = {
        "addresses": 100, "failures_answered_401": statuses.count(401),
        "then": [r.status_code for r in refused], "retry_after": refused[0].headers["Retry-After"]}
    assert through_proxy(world.credentials("bob"), 103).status_code == 201


def test_successes_do_not_count_as_failures(app_config, limits, world, app_factory):
    limits(account_failures="3 per hour")
    app = app_factory()
    world.setup(seats=10)
    client = app.test_client()
    assert [attempt(client, wrong_password()).status_code for _ in range(2)] == [401, 401]
    assert [attempt(client, world.credentials()).status_code for _ in range(4)] == [201] * 4
    assert attempt(client, wrong_password()).status_code == 401
    assert_limited(attempt(client, world.credentials()), at_most=3600)


def test_limit_comes_after_validation_and_proof_but_before_credentials(
        limits, world, app_factory):
    limits(account_failures="1 per hour")
    app = app_factory()
    world.setup()
    client = app.test_client()
    assert attempt(client, wrong_password()).status_code == 401
    invalid = attempt(client, {**world.credentials(), "unknown": 1})
    assert (invalid.status_code, invalid.json["code"]) == (400, "VALIDATION_FAILED")
    device = Device()
    no_proof = client.post(PATH, json=device.activation_body(**world.credentials()))
    assert (no_proof.status_code, no_proof.json["code"]) == (401, "INVALID_PROOF")
    assert_limited(attempt(client, world.credentials()), at_most=3600)


def test_failed_codes_are_limited_per_address(app_config, limits, world, app_factory):
    limits(code_failures="3 per hour")
    app = app_factory()
    license_id = world.setup(seats=5)
    code = world.code(license_id)
    client = app.test_client()
    bad = {"activation_code": "0" * 30}
    assert [attempt(client, bad).status_code for _ in range(3)] == [401] * 3
    assert_limited(attempt(client, {"activation_code": code}), at_most=3600)
    assert attempt(client, {"activation_code": code}, address="203.0.113.9").status_code == 201


@needs_redis
def test_redis_counts_are_shared_by_separate_apps(app_config, limits, world, app_factory):
    limits(storage_uri=REDIS_URL, account_failures="4 per hour")
    first, second = app_factory(), app_factory()
    world.setup(username="carol")
    clients = [first.test_client(), second.test_client()]
    statuses = [attempt(clients[n % 2], wrong_password("carol")).status_code for n in range(4)]
    assert statuses == [401] * 4
    for client in clients:
        assert_limited(attempt(client, world.credentials("carol")), at_most=3600)


def test_redis_down_falls_back_to_counting_in_memory(limits, world, caplog, app_factory):
    limits(storage_uri=f"redis://127.0.0.1:{free_port()}/0", account_failures="3 per hour")
    app = app_factory()
    world.setup(seats=5)
    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger="tessera.ratelimit"):
        assert attempt(client, world.credentials()).status_code == 201
    assert "rate-limit storage unavailable" in caplog.text
    assert [attempt(client, wrong_password()).status_code for _ in range(3)] == [401] * 3
    assert_limited(attempt(client, world.credentials()), at_most=3600)


@needs_redis
@pytest.mark.slow
def test_limits_hold_across_two_live_instances(app, migrated, tmp_path, world):
    world.setup(username="dave")
    env = server_env(migrated, tmp_path / "instance", TESSERA_RATELIMIT_STORAGE_URI=REDIS_URL,
                     TESSERA_RATELIMIT_ACCOUNT_FAILURES="10 per hour",
                     TESSERA_RATELIMIT_ACCOUNT_ATTEMPTS="1000 per minute",
                     TESSERA_RATELIMIT_ADDRESS_ATTEMPTS="1000 per minute")
    with live_server(env, workers=2, log_path=tmp_path / "a.log") as first, \
            live_server(env, workers=2, log_path=tmp_path / "b.log") as second:
        def post(base_url: str, body: dict) -> requests.Response:
            device = Device(base_url=base_url)
            return requests.post(base_url + PATH, json=device.activation_body(**body),
                                 headers={"DPoP": device.proof("POST", PATH)}, timeout=30)

        with ThreadPoolExecutor(4) as pool:
            failures = list(pool.map(lambda n: post((first, second)[n % 2],
                                                    wrong_password("dave")).status_code,
                                     range(10)))
        assert failures == [401] * 10
        for base_url in (first, second):
            response = post(base_url, world.credentials("dave"))
            assert response.status_code == 429 and "Retry-After" in response.headers


def test_replay_cache_in_a_dead_redis_fails_closed_with_503(app, world, app_factory, caplog):
    """Unlike the limits: a proof that cannot be checked for replay is refused."""
    world.setup()
    down = app_factory(TESSERA_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    with caplog.at_level(logging.WARNING, logger="tessera.http"):
        response = Device().activate(down.test_client(), **world.credentials())
    assert (response.status_code, response.json["code"]) == (503, "UNAVAILABLE")
    assert "redis unavailable" in caplog.text


def test_a_dead_store_is_retried_after_a_pause_not_on_every_request(caplog):
    now = [0.0]
    dead = storage_from_string(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    service = RateLimitService(MovingWindowRateLimiter(dead),
                               {"account-failures": parse("2 per hour")}, b"k" * 32,
                               retry_primary_seconds=30, clock=lambda: now[0])
    counter = Counter("account-failures", "erin")
    with caplog.at_level(logging.WARNING, logger="tessera.ratelimit"):
        service.failed(counter)
        now[0] = 29.0
        service.failed(counter)
        assert caplog.text.count("rate-limit storage unavailable") == 1
        now[0] = 31.0
        with pytest.raises(errors.RateLimited):
            service.guard(hit=[], test=[counter])
    assert caplog.text.count("rate-limit storage unavailable") == 2
