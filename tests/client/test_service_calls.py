"""HTTP calls: a new proof per try, transient failures retried with backoff, refusals not."""

from __future__ import annotations

import json

import jwt
import pytest
import requests
import responses

from tessera_client import (
    ActivationReleased,
    DeviceKey,
    InvalidCredentials,
    LicenseError,
    LicenseExpired,
    ProtocolError,
    RateLimited,
    RetryPolicy,
    SeatLimitReached,
    ServiceUnreachable,
    TesseraApi,
    TransientServiceError,
    Unavailable,
)

URL = "https://tessera.test/v1/activations"


def _error(status: int, code: str, headers: dict | None = None) -> responses.Response:
    body = {
        "code": code,
        "message": f"{code} message",
        "errors": {"field": "bad"} if status == 400 else {},
    }
    return responses.Response(responses.POST, URL, json=body, status=status, headers=headers or {})


def _ok() -> responses.Response:
    return responses.Response(
        responses.POST,
        URL,
        json={"activation_id": "act_1"},
        status=201,
        headers={"Date": "Fri, 15 Jan 2027 08:00:00 GMT"},
    )


@pytest.fixture
def api(clock, sleeps):
    service = TesseraApi(
        "https://tessera.test/",
        DeviceKey.generate(),
        clock=clock,
        sleep=sleeps.append,
        random_fraction=lambda: 0.5,
        retry=RetryPolicy(attempts=4, base_delay=1.0, max_delay=8.0),
    )
    yield service
    service.close()


def _jtis(http) -> list[str]:
    return [
        jwt.decode(call.request.headers["DPoP"], options={"verify_signature": False})["jti"]
        for call in http.calls
    ]


def test_5xx_then_success_is_retried_with_a_new_proof_and_backoff(http, api, sleeps):
    http.add(_error(503, "UNAVAILABLE"))
    http.add(_error(500, "INTERNAL_ERROR"))
    http.add(_ok())

    response = api.activate({"product": "numflo"})

    assert response.status == 201 and response.body == {"activation_id": "act_1"}
    assert response.server_time == 1800000000  # the Date header, as epoch seconds
    assert len(http.calls) == 3
    assert len(set(_jtis(http))) == 3, (
        "the service spends every jti, so each try needs its own proof"
    )
    # Equal jitter with a fixed random fraction of 0.5: 3/4 of 1 s, then of 2 s.
    assert sleeps == [0.75, 1.5]


def test_backoff_grows_exponentially_up_to_the_cap(http, clock, sleeps):
    for _ in range(6):
        http.add(_error(502, "HTTP_502"))
    service = TesseraApi(
        "https://tessera.test",
        DeviceKey.generate(),
        clock=clock,
        sleep=sleeps.append,
        random_fraction=lambda: 1.0,
        retry=RetryPolicy(attempts=6, base_delay=1.0, max_delay=4.0),
    )
    try:
        with pytest.raises(TransientServiceError) as caught:
            service.activate({})
    finally:
        service.close()
    assert sleeps == [1.0, 2.0, 4.0, 4.0, 4.0]
    assert caught.value.status == 502 and caught.value.code == "HTTP_502"


def test_jitter_spreads_delays_within_half_to_full_backoff(http, clock):
    delays = []
    for fraction in (0.0, 0.999):
        http.add(_error(503, "UNAVAILABLE"))
        http.add(_ok())
        service = TesseraApi(
            "https://tessera.test",
            DeviceKey.generate(),
            clock=clock,
            sleep=delays.append,
            random_fraction=lambda fraction=fraction: fraction,
            retry=RetryPolicy(base_delay=2.0),
        )
        service.activate({})
        service.close()
    assert delays[0] == 1.0 and 1.99 < delays[1] < 2.0


def test_429_waits_as_long_as_retry_after_says(http, api, sleeps):
    http.add(_error(429, "RATE_LIMITED", headers={"Retry-After": "7"}))
    http.add(_ok())

    assert api.activate({}).status == 201
    assert sleeps == [7.0]
    assert len(set(_jtis(http))) == 2


def test_retry_after_as_an_http_date_is_honoured(http, api, sleeps, clock):
    assert clock.now == 1800000000  # Fri, 15 Jan 2027 08:00:00 GMT
    http.add(_error(503, "UNAVAILABLE", headers={"Retry-After": "Fri, 15 Jan 2027 08:00:12 GMT"}))
    http.add(_ok())

    api.activate({})

    assert sleeps == [12.0]


def test_429_asking_for_longer_than_the_cap_is_not_waited_for(http, clock, sleeps):
    http.add(_error(429, "RATE_LIMITED", headers={"Retry-After": "3600"}))
    service = TesseraApi(
        "https://tessera.test",
        DeviceKey.generate(),
        clock=clock,
        sleep=sleeps.append,
        retry=RetryPolicy(max_retry_after=60),
    )
    try:
        with pytest.raises(RateLimited) as caught:
            service.activate({})
    finally:
        service.close()
    assert sleeps == [] and len(http.calls) == 1
    assert caught.value.retry_after == 3600 and caught.value.status == 429


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (409, "SEAT_LIMIT_REACHED", SeatLimitReached),
        (401, "INVALID_CREDENTIALS", InvalidCredentials),
        (403, "LICENSE_EXPIRED", LicenseExpired),
        (410, "ACTIVATION_RELEASED", ActivationReleased),
        (400, "VALIDATION_FAILED", LicenseError),
        (403, "SOMETHING_NEW", LicenseError),
    ],
)
def test_licence_refusals_are_typed_and_never_retried(http, api, sleeps, status, code, error):
    http.add(_error(status, code))

    with pytest.raises(error) as caught:
        api.activate({})

    assert len(http.calls) == 1 and sleeps == []
    assert caught.value.code == code and caught.value.status == status
    assert caught.value.message == f"{code} message"
    assert not isinstance(caught.value, TransientServiceError)


def test_validation_errors_carry_the_field_messages(http, api):
    http.add(_error(400, "VALIDATION_FAILED"))
    with pytest.raises(LicenseError) as caught:
        api.activate({})
    assert caught.value.errors == {"field": "bad"}


def test_transient_errors_are_raised_typed_once_retries_run_out(http, api, sleeps):
    for _ in range(4):
        http.add(_error(503, "UNAVAILABLE"))

    with pytest.raises(Unavailable) as caught:
        api.activate({})

    assert len(http.calls) == 4 and len(sleeps) == 3
    assert caught.value.code == "UNAVAILABLE"


def test_connection_failures_are_retried_then_reported_as_unreachable(http, api, sleeps):
    for _ in range(4):
        http.add(responses.POST, URL, body=requests.ConnectionError("refused"))

    with pytest.raises(ServiceUnreachable):
        api.activate({})

    assert len(http.calls) == 4 and len(sleeps) == 3


def test_tls_failures_are_not_retried(http, api, sleeps):
    http.add(responses.POST, URL, body=requests.exceptions.SSLError("certificate verify failed"))

    with pytest.raises(ServiceUnreachable):
        api.activate({})

    assert len(http.calls) == 1 and sleeps == []


def test_a_timeout_then_success_is_retried(http, api, sleeps):
    http.add(responses.POST, URL, body=requests.ReadTimeout("slow"))
    http.add(_ok())

    assert api.activate({}).status == 201
    assert len(sleeps) == 1


def test_redirects_are_not_followed(http, api):
    http.add(responses.POST, URL, status=302, headers={"Location": "https://elsewhere.test/steal"})

    with pytest.raises(ProtocolError):
        api.activate({"password": "secret"})
    assert len(http.calls) == 1


def test_a_non_json_error_page_still_becomes_a_typed_error(http, api):
    http.add(
        responses.POST, URL, body="<html>Bad gateway</html>", status=404, content_type="text/html"
    )

    with pytest.raises(LicenseError) as caught:
        api.activate({})
    assert caught.value.code == "HTTP_404" and caught.value.status == 404


def test_requests_carry_proofs_for_their_exact_method_and_url(http, api):
    http.add(
        responses.POST, "https://tessera.test/v1/activations/act%2F1/refresh", json={}, status=200
    )
    http.add(responses.DELETE, "https://tessera.test/v1/activations/act%2F1", status=204)
    http.add(responses.GET, "https://tessera.test/v1/keys", json={"keys": []})

    api.refresh("act/1", client_time="2027-01-15T08:00:00Z")
    api.deactivate("act/1")
    api.fetch_jwks()

    claims = [
        jwt.decode(c.request.headers["DPoP"], options={"verify_signature": False})
        for c in http.calls
    ]
    assert [(c["htm"], c["htu"]) for c in claims] == [
        ("POST", "https://tessera.test/v1/activations/act%2F1/refresh"),
        ("DELETE", "https://tessera.test/v1/activations/act%2F1"),
        ("GET", "https://tessera.test/v1/keys"),
    ]
    assert json.loads(http.calls[0].request.body) == {"client_time": "2027-01-15T08:00:00Z"}
    assert http.calls[1].request.body is None


@pytest.mark.parametrize(
    "url",
    [
        "http://tessera.example.com",
        "ftp://tessera.test",
        "https://tessera.test/?q=1",
        "https://user:pw@tessera.test",
        "tessera.test",
    ],
)
def test_unsafe_server_urls_are_refused(url):
    with pytest.raises(ValueError):
        TesseraApi(url, DeviceKey.generate())


def test_plain_http_is_allowed_to_this_machine_only_unless_forced():
    for url in ("http://127.0.0.1:5000", "http://localhost:8000"):
        TesseraApi(url, DeviceKey.generate()).close()
    TesseraApi("http://tessera.lan:8000", DeviceKey.generate(), allow_insecure_http=True).close()
