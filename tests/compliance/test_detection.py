"""Detection signals become compliance records; repeats fold into one record."""

from __future__ import annotations

import time

import pytest

from compliance_support import activate, from_country, records, refresh
from core.database import db
from licensing.catalog.models import License
from privacy.objections import ObjectionService
from privacy.providers import ACCOUNT
from support import Device


@pytest.fixture
def activated(client, world):
    world.setup(seats=5)
    device = Device()
    answer = activate(client, device, world.credentials())
    assert answer.status_code == 201
    return device, answer.json


def forged_refresh(client, activation_id: str, country: str = "DE"):
    """A refresh whose proof is made by a key that is not the activation's."""
    path = f"/v1/activations/{activation_id}/refresh"
    return client.post(path, json={},
                       headers={"DPoP": Device().proof("POST", path), **from_country(country)})


def test_a_refresh_signed_by_another_key_is_refused_and_recorded(client, activated, officer):
    device, answer = activated
    refused = forged_refresh(client, answer["activation_id"])
    assert refused.status_code == 401 and refused.json["code"] == "INVALID_PROOF"
    (record,) = records(client, officer)
    assert record["kind"] == "foreign_key_refresh" and record["tags"] == ["anti_piracy"]
    assert record["lawful_basis"] == "legal_obligation" and record["count"] == 1
    assert record["subject"].startswith("sbj_") and record["license"] == answer["license"]["id"]
    assert record["status"] == "open" and record["legal_hold"] is False
    assert record["retain_until"] is None, "an open case has no end of retention yet"
    # The real device is not disturbed, and its successful refresh records nothing.
    assert refresh(client, device, answer["activation_id"]).status_code == 200
    assert [r["count"] for r in records(client, officer)] == [1]


def test_a_burst_of_forged_refreshes_leaves_one_record(client, activated, officer):
    _, answer = activated
    started = time.perf_counter()
    for _ in range(1000):
        assert forged_refresh(client, answer["activation_id"]).status_code == 401
    elapsed = time.perf_counter() - started
    (record,) = records(client, officer)
    assert record["count"] == 1000 and record["kind"] == "foreign_key_refresh"
    assert record["first_seen_at"] <= record["last_seen_at"]
    print(f"1000 forged refreshes in {elapsed:.1f}s")


def test_a_forged_deactivation_adds_to_the_same_record(client, activated, officer):
    _, answer = activated
    forged_refresh(client, answer["activation_id"])
    path = f"/v1/activations/{answer['activation_id']}"
    refused = client.delete(path, headers={"DPoP": Device().proof("DELETE", path)})
    assert refused.status_code == 401
    (record,) = records(client, officer)
    assert record["count"] == 2


def test_use_of_a_revoked_license_is_recorded(app, client, activated, officer):
    device, answer = activated
    _revoke(app, answer["license"]["id"])
    refused = refresh(client, device, answer["activation_id"])
    assert refused.status_code == 403 and refused.json["code"] == "LICENSE_REVOKED"
    (record,) = records(client, officer, kind="revoked_license_use")
    assert record["evidence"] == {"license_status": "revoked"}


def _revoke(app, license_id: str) -> None:
    with app.app_context():
        db.session.get(License, license_id).status = "revoked"
        db.session.commit()


def test_code_guessing_from_one_prefix_is_recorded_past_the_threshold(app_factory, world,
                                                                     officer):
    app = app_factory(TESSERA_CODE_GUESS_THRESHOLD=3)
    client = app.test_client()
    for number in range(5):
        answer = client.post("/v1/activations", json=Device().activation_body(
            activation_code="0" * 26), headers={
                "DPoP": Device().proof("POST", "/v1/activations"),
                # Two addresses of one /24: the same prefix guessing.
                **from_country("DE", f"81.2.69.{10 + number % 2}")})
        assert answer.status_code == 401
    (record,) = records(client, officer)
    assert record["kind"] == "code_guessing" and record["count"] == 2
    assert record["license"] is None and "81.2.69" not in str(record)


def test_seat_churn_is_recorded_past_the_threshold(app_factory, world, officer):
    app = app_factory(TESSERA_CHURN_THRESHOLD=2)
    client = app.test_client()
    world.setup(seats=5)
    for _ in range(4):
        assert activate(client, Device(), world.credentials()).status_code == 201
    (record,) = records(client, officer)
    assert record["kind"] == "seat_churn" and record["count"] == 2
    assert record["evidence"]["devices_in_24h"] == 4


def test_an_upheld_objection_stops_churn_detection_for_the_account(app_factory, world,
                                                                    officer):
    app = app_factory(TESSERA_CHURN_THRESHOLD=2)
    client = app.test_client()
    license_id = world.setup(seats=5)
    with app.app_context():
        account_id = db.session.get(License, license_id).account_id
        ObjectionService(db.session).uphold(ACCOUNT, account_id, None)
        db.session.commit()
    for _ in range(4):
        assert activate(client, Device(), world.credentials()).status_code == 201
    assert records(client, officer) == []


def test_refreshes_from_two_countries_within_the_window_suggest_a_clone(client, activated,
                                                                       officer):
    device, answer = activated
    assert refresh(client, device, answer["activation_id"], "DE").status_code == 200
    assert records(client, officer) == []
    assert refresh(client, device, answer["activation_id"], "FR").status_code == 200
    (record,) = records(client, officer)
    assert record["kind"] == "clone_suspected" and record["country"] == "FR"
    assert record["evidence"]["countries"] == ["DE", "FR"]
    assert refresh(client, device, answer["activation_id"], "FR").status_code == 200
    assert [r["count"] for r in records(client, officer)] == [1]
