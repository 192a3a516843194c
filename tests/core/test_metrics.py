"""/metrics: request and outcome counters by route template, summed over workers, guarded."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from live import live_server, server_env
from prometheus_client.parser import text_string_to_metric_families
from support import Device

OUTSIDE = {"REMOTE_ADDR": "203.0.113.7"}


def samples(text: str) -> dict[tuple, float]:
    """Every sample of a Prometheus text exposition, keyed by (name, sorted labels)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(text: str, name: str, **labels) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def test_counts_activations_refreshes_and_requests_by_route_template(client, world):
    world.setup()
    before = client.get("/metrics").get_data(as_text=True)
    device = Device()
    activation_id = device.activate(client, **world.credentials()).json["activation_id"]
    assert device.refresh(client, activation_id).status_code == 200
    assert device.refresh(client, "act_doesnotexist").status_code == 404
    after = client.get("/metrics").get_data(as_text=True)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("tessera_activations_total", result="created") == 1
    assert grew("tessera_refreshes_total", result="ok") == 1
    assert grew("tessera_refreshes_total", result="NOT_FOUND") == 1
    route = "/v1/activations/<activation_id>/refresh"
    assert grew("tessera_http_requests_total", method="POST", route=route, status="200") == 1
    assert grew("tessera_http_request_duration_seconds_count", route=route) == 2
    # Route templates only: no id, no path a client made up, reaches a label.
    assert activation_id not in after and "doesnotexist" not in after


def test_a_made_up_method_does_not_become_a_label(client):
    assert client.open("/v1/keys", method="BREW").status_code == 405
    text = client.get("/metrics").get_data(as_text=True)
    assert "BREW" not in text
    assert value(text, "tessera_http_requests_total", method="OTHER", route="(no route)",
                 status="405") >= 1


def test_from_outside_loopback_a_token_is_needed(app_factory):
    client = app_factory(TESSERA_METRICS_TOKEN="m" * 40).test_client()
    refused = client.get("/metrics", environ_base=OUTSIDE)
    assert refused.status_code == 401
    assert refused.json["code"] == "UNAUTHENTICATED"
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = client.get("/metrics", environ_base=OUTSIDE,
                       headers={"Authorization": "Bearer " + "n" * 40})
    assert wrong.status_code == 401
    allowed = client.get("/metrics", environ_base=OUTSIDE,
                         headers={"Authorization": "Bearer " + "m" * 40})
    assert allowed.status_code == 200
    assert "tessera_http_requests_total" in allowed.get_data(as_text=True)


def test_without_a_token_configured_only_loopback_is_served(client):
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", environ_base=OUTSIDE).status_code == 401


@pytest.mark.parametrize("header", ["X-Forwarded-For", "Forwarded", "X-Real-IP"])
def test_a_proxied_request_from_loopback_is_not_local(client, header):
    # A proxy on the same host makes every request come from loopback.
    assert client.get("/metrics", headers={header: "203.0.113.7"}).status_code == 401


def _activate_at_once(base_url: str, world, count: int) -> None:
    devices = [Device(base_url=base_url) for _ in range(count)]

    def activate(device):
        body = device.activation_body(**world.credentials())
        return requests.post(base_url + "/v1/activations", json=body, timeout=60,
                             headers={"DPoP": device.proof("POST", "/v1/activations")})

    with ThreadPoolExecutor(count) as pool:
        assert {answer.status_code for answer in pool.map(activate, devices)} == {201}


@pytest.mark.slow
def test_counters_are_summed_over_every_gunicorn_worker(migrated, tmp_path, world, app):
    world.setup(seats=50)
    folder = tmp_path / "metrics"
    # Sync workers serve one request at a time, so concurrent requests reach both.
    env = server_env(migrated, tmp_path / "instance", PROMETHEUS_MULTIPROC_DIR=str(folder),
                     GUNICORN_THREADS="1",
                     TESSERA_RATELIMIT_ADDRESS_ATTEMPTS="1000 per minute",
                     TESSERA_RATELIMIT_ACCOUNT_ATTEMPTS="1000 per minute")
    with live_server(env, workers=2, log_path=tmp_path / "first.log") as base_url:
        _activate_at_once(base_url, world, 12)
        scrapes = [requests.get(base_url + "/metrics", timeout=30).text for _ in range(6)]
        assert len(list(folder.glob("counter_*.db"))) >= 2  # both workers counted
    for text in scrapes:
        assert value(text, "tessera_activations_total", result="created") == 12
    # A new run starts from an empty folder: the last run's samples are not summed in.
    with live_server(env, workers=2, log_path=tmp_path / "second.log") as base_url:
        text = requests.get(base_url + "/metrics", timeout=30).text
    assert value(text, "tessera_activations_total", result="created") == 0
    assert "tessera_http_requests_total" in text


def test_metrics_can_be_turned_off(app_factory, world):
    client = app_factory(TESSERA_METRICS=False).test_client()
    world.setup()
    device = Device()
    activation_id = device.activate(client, **world.credentials()).json["activation_id"]
    assert device.refresh(client, activation_id).status_code == 200
    answer = client.get("/metrics")
    assert answer.status_code == 404 and answer.json["code"] == "NOT_FOUND"


@pytest.mark.parametrize("setting, expected", [(None, True), ("on", True), ("OFF", False)])
def test_the_metrics_setting_reads_on_and_off(setting, expected):
    from config.settings import operations_settings

    environ = {} if setting is None else {"TESSERA_METRICS": setting}
    assert operations_settings(environ)["TESSERA_METRICS"] is expected


def test_a_metrics_setting_other_than_on_or_off_is_refused():
    from config.settings import ConfigurationError, operations_settings

    with pytest.raises(ConfigurationError, match="TESSERA_METRICS"):
        operations_settings({"TESSERA_METRICS": "maybe"})
