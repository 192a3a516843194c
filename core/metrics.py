"""Prometheus metrics at /metrics, summed over every gunicorn worker.

gunicorn.conf.py gives each run a fresh, empty PROMETHEUS_MULTIPROC_DIR before
it forks, so every worker's prometheus_client writes its samples there and a
scrape of any worker sums them all. Without that variable (`flask run`, tests)
the process's own registry answers.

Labels are route templates (``/v1/activations/<activation_id>/refresh``) and
API error codes, never paths or ids: bounded, and nothing personal. Counts
that live in the database (open privacy requests, pending disclosures) are
gauges read at scrape time from functions the packages register.

/metrics answers a loopback peer that came directly (no proxy header), or a
request with ``Authorization: Bearer $TESSERA_METRICS_TOKEN``; anyone else 401.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import os
import time
from collections.abc import Callable, Iterable

from flask import Flask, Response, current_app, g, request
from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram,
                               generate_latest, multiprocess)
from prometheus_client.core import GaugeMetricFamily

from core.errors import Unauthenticated
from core.tokens import CHALLENGE

REQUESTS = Counter("tessera_http_requests_total", "HTTP requests answered.",
                   ["method", "route", "status"])
DURATION = Histogram("tessera_http_request_duration_seconds",
                     "Time from the request's arrival to its answer.", ["route"],
                     buckets=(.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))

# (method, route template) -> the counter of that endpoint's outcomes.
_COUNTED: dict[tuple[str, str], Counter] = {}
_GAUGES: list[Callable[[], Iterable[GaugeMetricFamily]]] = []
_PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def outcome_counter(name: str, documentation: str, routes: Iterable[tuple[str, str]]) -> Counter:
    """A counter NAME{result} of every answer to ROUTES: `created`, `ok`, or the error code."""
    counter = Counter(name, documentation, ["result"])
    for route in routes:
        _COUNTED[route] = counter
    return counter


def gauge_source(collect: Callable[[], Iterable[GaugeMetricFamily]]) -> None:
    """Read COLLECT's gauges (from the database, in an app context) at every scrape."""
    _GAUGES.append(collect)


def _result(status: int) -> str:
    if status < 400:
        return "created" if status == 201 else "ok"
    return g.get("error_code") or str(status)


# labels() validates and locks on every call, which cost more than the update itself;
# the label sets are few (routes x statuses, results), so each child is looked up once.
@functools.lru_cache(maxsize=2048)
def _request_series(method: str, rule: str, status: int):
    return REQUESTS.labels(method, rule, str(status)), DURATION.labels(rule)


@functools.lru_cache(maxsize=2048)
def _outcome_series(counter: Counter, result: str):
    return counter.labels(result)


def _record(response):
    rule = request.url_rule.rule if request.url_rule is not None else "(no route)"
    status = response.status_code
    # A client may send any method name: only known ones become labels.
    method = request.method if request.method in _METHODS else "OTHER"
    requests, duration = _request_series(method, rule, status)
    requests.inc()
    duration.observe(time.perf_counter() - g.get("started", time.perf_counter()))
    counter = _COUNTED.get((request.method, rule))
    if counter is not None:
        _outcome_series(counter, _result(status)).inc()
    return response


def _is_direct_loopback() -> bool:
    # The peer before any proxy rewrote it: behind a proxy on the same host every
    # request comes from loopback, so a proxied request never counts as local.
    peer = request.environ.get("werkzeug.proxy_fix.orig", {}).get("REMOTE_ADDR",
                                                                   request.remote_addr)
    if any(name in request.headers for name in _PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(peer or "").is_loopback
    except ValueError:
        return False


def _authorised() -> bool:
    if _is_direct_loopback():
        return True
    expected = current_app.config.get("TESSERA_METRICS_TOKEN")
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode("utf-8"), expected.encode("utf-8"))


class _DatabaseGauges:
    """The registered gauge sources, as a prometheus_client collector."""

    def collect(self):
        for source in _GAUGES:
            yield from source()


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY
        registry = REGISTRY
    return registry


def metrics():
    """The Prometheus text exposition of every worker's samples."""
    if not _authorised():
        raise Unauthenticated(headers={"WWW-Authenticate": CHALLENGE})
    registry = _registry()
    body = generate_latest(registry)
    gauges = CollectorRegistry()
    gauges.register(_DatabaseGauges())
    body += generate_latest(gauges)
    return Response(body, content_type=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    """Count every answer and serve /metrics (unless TESSERA_METRICS is off)."""
    if not app.config.get("TESSERA_METRICS", True):
        return
    app.after_request(_record)
    app.add_url_rule("/metrics", "metrics", metrics, methods=["GET"])
