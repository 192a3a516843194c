"""The purposes registry is the record of processing, and every column declares against it."""

from __future__ import annotations

import pytest
from privacy_support import invoke_json, staff_token

import licensing.app  # noqa: F401  (imports every domain's models)
from core.database import db
from licensing.activation.services import ActivationService
from privacy import models as privacy_models  # noqa: F401
from privacy.purposes import (CATEGORIES, LAWFUL_BASES, PURPOSES, SOURCES, Purpose,
                              PurposeRegistry, UnknownPurpose, current_purpose, declaration,
                              personal, processes)

# shared/POLICY.md, "Purposes registry": key -> lawful basis.
POLICY_PURPOSES = {
    "license.activation": "contract",
    "license.refresh": "contract",
    "license.compliance": "legitimate_interests",
    "support": "contract",
    "export.compliance": "legal_obligation",
    "anti_piracy": "legal_obligation",
    "legal.disclosure": "legal_obligation",
    "privacy.rights": "legal_obligation",
    "marketing": "consent",
}


def test_every_policy_purpose_is_declared_with_its_lawful_basis():
    declared = {purpose.key: purpose.lawful_basis for purpose in PURPOSES}
    for key, basis in POLICY_PURPOSES.items():
        assert declared[key] == basis, key
    for purpose in PURPOSES:
        assert purpose.data_categories and purpose.data_subjects and purpose.recipients
        assert purpose.retention and purpose.policy_clause and purpose.periods


def test_every_category_says_where_its_data_comes_from():
    assert set(SOURCES) == set(CATEGORIES)
    assert all(SOURCES.values())
    nameless = Purpose("x", "x", "contract", ("no.such.source",), ("customer",), "x", (),
                       ("hosting_provider",), "x")
    with pytest.raises(ValueError, match="no source"):
        PurposeRegistry([nameless])


def test_every_model_column_declares_whether_it_holds_personal_data():
    undeclared, inconsistent = [], []
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            place = f"{table.name}.{column.name}"
            declared = declaration(column)
            if declared is None:
                undeclared.append(place)
            elif declared.personal:
                if declared.category not in CATEGORIES or not declared.purposes:
                    inconsistent.append(place)
                inconsistent += [f"{place} ({key})" for key in declared.purposes
                                 if declared.category not in PURPOSES.get(key).data_categories]
            elif not declared.reason:
                inconsistent.append(place)
    assert not undeclared, f"columns with no personal-data declaration: {undeclared}"
    assert not inconsistent, f"columns declared against the registry wrongly: {inconsistent}"


def test_the_personal_columns_the_policy_names_are_declared_personal():
    expected = {"accounts.email": "account.contact", "accounts.username": "account.identifier",
                "seats.device_pseudonym": "device.pseudonym", "seats.ip_prefix":
                "network.ip_prefix", "seats.country": "network.country",
                "seats.device_name": "device.label", "access_log.subject_pseudonym":
                "access.audit", "activation_codes.code_hmac": "activation.code"}
    columns = {f"{t.name}.{c.name}": c for t in db.metadata.sorted_tables for c in t.columns}
    for place, category in expected.items():
        assert declaration(columns[place]).category == category, place


def test_a_declaration_against_the_registry_must_hold():
    with pytest.raises(ValueError):
        personal("no.such.category", "support")
    with pytest.raises(ValueError):
        personal("device.pseudonym")  # personal data needs a purpose
    with pytest.raises(ValueError):
        personal("consent.record", "license.refresh")  # not a category of that purpose
    with pytest.raises(UnknownPurpose):
        personal("device.pseudonym", "profiling")
    with pytest.raises(UnknownPurpose):
        processes("profiling")


def test_services_name_the_purpose_they_act_under():
    assert ActivationService.refresh.purpose == "license.refresh"
    assert ActivationService.activate_with_password.purpose == "license.activation"
    assert ActivationService.activate_with_code.purpose == "license.activation"
    seen = []

    @processes("support")
    def look_up():
        seen.append(current_purpose())

    look_up()
    assert seen == ["support"] and current_purpose() is None


def test_ropa_cli_lists_every_purpose_and_the_endpoint_gives_the_same(app, runner, client):
    document = invoke_json(runner, "privacy", "ropa")
    purposes = {p["key"]: p for p in document["purposes"]}
    assert set(POLICY_PURPOSES) <= set(purposes)
    for key, basis in POLICY_PURPOSES.items():
        entry = purposes[key]
        assert entry["lawful_basis"] == basis
        assert entry["lawful_basis_text"] == LAWFUL_BASES[basis]
        assert entry["data_categories"] and entry["recipients"] and entry["data_subjects"]
        assert entry["retention"]["summary"] and entry["retention"]["periods"]
    refresh = purposes["license.refresh"]
    assert {"seats.ip_prefix", "seats.country"} <= set(refresh["stored_in"])
    assert refresh["retention"]["periods"][0] == {
        "key": "ip_prefix", "applies_to": "the IP prefix recorded on a seat", "days": 30,
        "after": "it is recorded", "action": "de-identify", "enforced_by_purge": True}
    assert document["controller"]["name"]
    token = staff_token(app, "privacy")
    answer = client.get("/v1/privacy/ropa", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.json == document


def test_ropa_text_is_for_people(runner):
    result = runner.invoke(args=["privacy", "ropa"])
    assert result.exit_code == 0
    assert "license.refresh: Regular refresh function" in result.stdout
    assert "lawful basis: Legal obligation (GDPR Art 6(1)(c))" in result.stdout


@pytest.mark.parametrize("path", ["/v1/privacy/ropa", "/v1/privacy/access-log?subject=alice"])
def test_privacy_endpoints_need_the_privacy_or_admin_role(app, client, world, path):
    world.setup()
    reason = {"X-Access-Reason": "TICKET-1"}
    missing = client.get(path, headers=reason)
    assert missing.status_code == 401 and missing.json["code"] == "UNAUTHENTICATED"
    bogus = client.get(path, headers={**reason, "Authorization": "Bearer tss_nope"})
    assert bogus.status_code == 401
    for role in ("support", "compliance"):
        token = staff_token(app, role, name=role)
        refused = client.get(path, headers={**reason, "Authorization": f"Bearer {token}"})
        assert refused.status_code == 403 and refused.json["code"] == "FORBIDDEN", role
    for role in ("privacy", "admin"):
        token = staff_token(app, role, name=role)
        allowed = client.get(path, headers={**reason, "Authorization": f"Bearer {token}"})
        assert allowed.status_code == 200, (role, allowed.json)


def test_privacy_endpoints_are_in_the_openapi_document(client):
    spec = client.get("/openapi.json").json
    ropa = spec["paths"]["/v1/privacy/ropa"]["get"]
    assert ropa["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/Ropa")
    assert {"401", "403"} <= set(ropa["responses"])
    log = spec["paths"]["/v1/privacy/access-log"]["get"]
    names = {p["name"] for p in log["parameters"]}
    assert {"subject", "limit", "X-Access-Reason"} <= names
    assert log["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/AccessLog")
    assert spec["components"]["securitySchemes"]["staffToken"]["scheme"] == "bearer"
    refresh = spec["paths"]["/v1/activations/{activation_id}/refresh"]["post"]
    body = refresh["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert "fingerprint" in spec["components"]["schemas"][body.rsplit("/", 1)[1]]["properties"]
