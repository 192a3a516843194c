"""The authorisation matrix: every staff endpoint, as every role, disabled, and anonymous."""

from __future__ import annotations

import pytest
from staff_access import CALLERS, PRINCIPALS, STAFF_ENDPOINTS, StaffWorld

CASES = [(endpoint, principal) for endpoint in STAFF_ENDPOINTS for principal in PRINCIPALS]


@pytest.mark.parametrize(("endpoint", "principal"), CASES,
                         ids=[f"{e.label}{sorted(e.query)}-{p}" for e, p in CASES])
def test_staff_endpoint_answers_by_role(app, client, endpoint, principal):
    world = StaffWorld(app).build()
    answer = CALLERS[endpoint.surface](client, world, endpoint, principal)
    expected = endpoint.expected(principal)
    assert answer.status_code == expected, answer.get_json()
    if expected == 401:
        assert answer.json["code"] == "UNAUTHENTICATED"
    elif expected == 403:
        assert answer.json["code"] == "FORBIDDEN"


def test_every_staff_route_is_in_the_table(app):
    """A new staff endpoint without a row in the table fails here."""
    staff_prefixes = ("/v1/support/", "/v1/admin/", "/v1/privacy/")
    routes = {(method, rule.rule) for rule in app.url_map.iter_rules()
              if rule.rule.startswith(staff_prefixes)
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    listed = {(e.method, _as_rule(e.path)) for e in STAFF_ENDPOINTS}
    assert routes <= listed, sorted(routes - listed)


def _as_rule(path: str) -> str:
    converters = {"{license}": "<license_id>", "{activation}": "<activation_id>",
                  "{spare_staff}": "<int:staff_id>", "{spare_token}": "<int:token_id>",
                  "{restricted_account}": "<account_id>", "{restriction_request}": "<request_id>",
                  "{objection_request}": "<request_id>",
                  "{rectification_request}": "<request_id>"}
    for placeholder, rule in converters.items():
        path = path.replace(placeholder, rule)
    return path
