"""The authorisation matrix: every staff endpoint and console page, as every role, disabled,
and anonymous."""

from __future__ import annotations

import re

import pytest
from staff_access import ANONYMOUS, CALLERS, EVERY_ROLE, PRINCIPALS, STAFF_ENDPOINTS, StaffWorld

CASES = [(endpoint, principal) for endpoint in STAFF_ENDPOINTS for principal in PRINCIPALS]
# Console routes anyone may open: signing in and out.
OPEN_PAGES = {"console.sign_in", "console.sign_out"}


@pytest.mark.parametrize(("endpoint", "principal"), CASES,
                         ids=[f"{e.label}{sorted(e.query)}-{p}" for e, p in CASES])
def test_staff_endpoint_answers_by_role(app, client, endpoint, principal):
    world = StaffWorld(app).build(compliance=True)
    answer = CALLERS[endpoint.surface](client, world, endpoint, principal)
    expected = endpoint.expected(principal)
    if endpoint.surface == "console":
        _check_page(answer, expected)
        return
    assert answer.status_code == expected, answer.get_json()
    if expected == 401:
        assert answer.json["code"] == "UNAUTHENTICATED"
    elif expected == 403:
        assert answer.json["code"] == "FORBIDDEN"


def _check_page(answer, expected: int) -> None:
    """A console answer: no live session goes to sign in, a role not allowed gets a 403 page."""
    html = answer.get_data(as_text=True)
    if expected == 401:
        assert answer.status_code == 302, html
        assert answer.headers["Location"].endswith("/console/sign-in")
        return
    assert answer.status_code == expected, html
    if expected == 403:
        assert answer.mimetype == "text/html" and "Not allowed" in html
    elif expected == 302:
        assert not answer.headers["Location"].endswith("/console/sign-in")
    else:
        assert answer.mimetype == "text/html" and "Refused." not in html


def test_every_staff_route_is_in_the_table(app):
    """A new staff endpoint or console page without a row in the table fails here."""
    staff_prefixes = ("/v1/support/", "/v1/admin/", "/v1/privacy/", "/v1/compliance/")
    rules = list(app.url_map.iter_rules())
    routes = {(method, rule.rule) for rule in rules
              if rule.rule.startswith(staff_prefixes) or (
                  rule.endpoint.startswith("console.") and rule.endpoint not in OPEN_PAGES)
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    listed = {(e.method, _as_rule(e.path)) for e in STAFF_ENDPOINTS}
    assert routes <= listed, sorted(routes - listed)
    assert any(path.startswith("/v1/compliance/") for _, path in routes)


def test_every_console_page_names_its_roles_as_the_table_does(app):
    """Each console view's decorator and its rows agree on who may see it."""
    console = {rule.endpoint for rule in app.url_map.iter_rules()
               if rule.endpoint.startswith("console.")}
    undecorated = {name for name in console
                   if not hasattr(app.view_functions[name], "page_roles")}
    assert undecorated == OPEN_PAGES
    adapter = app.url_map.bind("localhost")
    for endpoint in STAFF_ENDPOINTS:
        if endpoint.surface != "console":
            continue
        name, _ = adapter.match(re.sub(r"\{\w+\}", "1", endpoint.path), method=endpoint.method)
        declared = frozenset(app.view_functions[name].page_roles)
        assert declared == endpoint.roles or (declared >= EVERY_ROLE and
                                              endpoint.roles == EVERY_ROLE), endpoint.label


def test_the_table_covers_every_principal_on_the_console():
    pages = [e for e in STAFF_ENDPOINTS if e.surface == "console"]
    assert pages and {p for p in PRINCIPALS} >= {"disabled", ANONYMOUS}
    assert {e.method for e in pages} == {"GET", "POST"}


def _as_rule(path: str) -> str:
    converters = {"{license}": "<license_id>", "{activation}": "<activation_id>",
                  "{spare_staff}": "<int:staff_id>", "{spare_token}": "<int:token_id>",
                  "{restricted_account}": "<account_id>", "{restriction_request}": "<request_id>",
                  "{objection_request}": "<request_id>",
                  "{rectification_request}": "<request_id>", "{record}": "<record_id>",
                  "{awaiting_disclosure}": "<disclosure_id>"}
    for placeholder, rule in converters.items():
        path = path.replace(placeholder, rule)
    return path
