"""Schemathesis against /openapi.json, in process: every operation, fixed seed.

Desktop endpoints get a valid DPoP proof made by the device bound to a real
activation, unless the case is one where Schemathesis broke the header on
purpose; then the server must refuse it as the document says (401). Customer
Area endpoints get the account holder's session token now and then, so their
answers are checked against the document too, not only their 401s.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation
from support import Device

pytestmark = pytest.mark.reliability

SEED = 20261124
EXAMPLES = 100


class Target:
    """A license, its activation and the device bound to it."""

    def __init__(self, device: Device, activation_id: str, session_token: str):
        self.device = device
        self.activation_id = activation_id
        self.session_token = session_token


@pytest.fixture
def app_config(app_config):
    # Every example comes from one address: spent attempt limits would answer 429 to all
    # the later sign-ins and activations, and their credential checks would go unfuzzed.
    return {**app_config, **{key: "100000 per minute" for key in (
        "TESSERA_RATELIMIT_ADDRESS_ATTEMPTS", "TESSERA_RATELIMIT_ACCOUNT_ATTEMPTS",
        "TESSERA_RATELIMIT_ACCOUNT_FAILURES", "TESSERA_RATELIMIT_CODE_FAILURES")}}


@pytest.fixture
def target(client, world):
    world.setup(seats=50)
    device = Device()
    response = device.activate(client, **world.credentials())
    assert response.status_code == 201, response.json
    session = client.post("/v1/session", json=world.credentials())
    assert session.status_code == 201, session.json
    return Target(device, response.json["activation_id"], session.json["token"])


def _header_broken_on_purpose(case) -> bool:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_negative:
        return False
    component = meta.components.get(ParameterLocation.HEADER)
    return component is not None and component.mode.is_negative


def _prepare(case, target: Target) -> None:
    """Aim at the real activation now and then, and sign the request as its device."""
    if "activation_id" in (case.path_parameters or {}):
        current = str(case.path_parameters["activation_id"])
        if sum(current.encode()) % 3 == 0:
            case.path_parameters["activation_id"] = target.activation_id
    secured = {name for requirement in case.operation.definition.raw.get("security", [])
               for name in requirement}
    if "sessionToken" in secured and not _header_broken_on_purpose(case):
        current = str((case.headers or {}).get("Authorization", ""))
        if sum(current.encode()) % 3 == 0:
            case.headers = {**(case.headers or {}),
                            "Authorization": f"Bearer {target.session_token}"}
    dpop = any(p.name == "DPoP" for p in case.operation.headers)
    if dpop and not _header_broken_on_purpose(case):
        path = urlsplit(case.formatted_path).path
        case.headers = {**(case.headers or {}),
                        "DPoP": target.device.proof(case.method.upper(), path)}


def _fuzz(operation, mode: GenerationMode, target: Target) -> tuple[int, str | None]:
    """Run one operation's examples; the count, and the failure if there was one."""
    count = 0

    @given(case=operation.as_strategy(generation_mode=mode))
    @seed(SEED)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate])
    def run(case):
        nonlocal count
        count += 1
        _prepare(case, target)
        case.call_and_validate()

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # a failed check, named by operation
        return count, f"{type(exc).__name__}: {exc}"
    return count, None


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["positive", "negative"])
def test_the_api_keeps_its_documented_promises(app, target, mode, figures):
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 6
    # An operation with no input has one distinct request and nothing to make invalid.
    with_input = [op for op in operations if op.path_parameters or op.headers or op.body]
    fuzzed = with_input if mode is GenerationMode.NEGATIVE else operations
    report = {op.label: _fuzz(op, mode, target) for op in fuzzed}
    failures = {label: error for label, (_, error) in report.items() if error}
    counts = {label: count for label, (count, _) in report.items()}
    figures[f"schemathesis[{mode.value}]"] = {"seed": SEED, "examples": counts,
                                              "failures": len(failures)}
    assert not failures, failures
    assert all(counts[op.label] >= EXAMPLES for op in with_input), counts
