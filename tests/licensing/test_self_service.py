"""The Customer Area's self-service API: sign out, licenses, devices, the download, consents."""

from __future__ import annotations

import json

import pytest

from core.database import db
from privacy.providers import ACCOUNT
from privacy.wiring import consent_service
from support import Device

PASSWORD = "correct horse battery staple"


def token_for(client, username="alice") -> str:
    answer = client.post("/v1/session", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 201, answer.json
    return answer.json["token"]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_sign_out_ends_the_token_at_once(client, world):
    world.setup()
    token = token_for(client)
    assert client.get("/v1/me", headers=bearer(token)).status_code == 200
    answer = client.delete("/v1/session", headers=bearer(token))
    assert answer.status_code == 204 and answer.headers["Cache-Control"] == "no-store"
    assert client.get("/v1/me", headers=bearer(token)).json["code"] == "UNAUTHENTICATED"
    assert client.delete("/v1/session", headers=bearer(token)).status_code == 401


def test_licenses_show_the_seats_in_use(client, world):
    license_id = world.setup(seats=3)
    assert Device().activate(client, **world.credentials()).status_code == 201
    token = token_for(client)
    answer = client.get("/v1/me/licenses", headers=bearer(token))
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    (license,) = answer.json["licenses"]
    assert (license["id"], license["product"], license["seats"], license["seats_used"]) == (
        license_id, "numflo", 3, 1)
    assert license["seat_mode"] == "node_locked" and license["entitlements"] == [
        "solver", "mesher"]
    assert license["status"] == "active" and license["starts_at"].endswith("Z")


def test_deactivating_a_device_frees_its_seat_and_its_refresh_gets_410(client, world):
    world.setup()
    device = Device()
    activated = device.activate(client, **world.credentials(), device_name="Lab PC")
    seat = activated.json["activation_id"]
    token = token_for(client)
    (listed,) = client.get("/v1/me/activations", headers=bearer(token)).json["activations"]
    assert (listed["id"], listed["device_name"], listed["product"]) == (seat, "Lab PC", "numflo")
    assert "released_at" not in listed
    assert client.delete(f"/v1/me/activations/{seat}", headers=bearer(token)).status_code == 204
    assert client.delete(f"/v1/me/activations/{seat}", headers=bearer(token)).status_code == 204
    assert client.get("/v1/me/activations", headers=bearer(token)).json["activations"] == []
    (released,) = client.get("/v1/me/activations?all=true",
                             headers=bearer(token)).json["activations"]
    assert released["released_at"] is not None
    refresh = device.refresh(client, seat)
    assert refresh.status_code == 410 and refresh.json["code"] == "ACTIVATION_RELEASED"
    licenses = client.get("/v1/me/licenses", headers=bearer(token)).json["licenses"]
    assert licenses[0]["seats_used"] == 0


def test_another_accounts_device_is_not_found(client, world):
    world.setup()
    world.setup(username="bob")
    seat = Device().activate(client, **world.credentials("bob")).json["activation_id"]
    token = token_for(client, "alice")
    answer = client.delete(f"/v1/me/activations/{seat}", headers=bearer(token))
    assert answer.status_code == 404 and answer.json["code"] == "NOT_FOUND"
    bob = token_for(client, "bob")
    assert len(client.get("/v1/me/activations", headers=bearer(bob)).json["activations"]) == 1


def test_the_export_downloads_as_an_attachment(client, world):
    world.setup()
    token = token_for(client)
    answer = client.get("/v1/me/data?download=1", headers=bearer(token))
    assert answer.status_code == 200
    disposition = answer.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and ".json" in disposition
    document = json.loads(answer.data)
    assert document["data"]["licensing"]["account"]["username"] == "alice"
    for section in ("requests", "consents", "notices", "objections", "disclosures"):
        assert document[section] == []
    assert "Content-Disposition" not in client.get("/v1/me/data", headers=bearer(token)).headers
    bogus = client.get("/v1/me/data?download=perhaps", headers=bearer(token))
    assert bogus.status_code == 400 and "download" in bogus.json["errors"]


def test_consent_is_given_and_withdrawn_in_one_call_with_immediate_effect(app, client, world):
    world.setup()
    token = token_for(client)
    (entry,) = client.get("/v1/me/consents", headers=bearer(token)).json["consents"]
    assert entry == {"purpose": "marketing", "granted": False, "updated_at": None,
                     "policy_version": app.config["TESSERA_PRIVACY_POLICY_VERSION"]}
    given = client.put("/v1/me/consents/marketing", json={"granted": True},
                        headers=bearer(token))
    assert given.status_code == 200 and given.json["granted"] is True
    assert given.json["updated_at"] is not None
    account_id = client.get("/v1/me", headers=bearer(token)).json["id"]
    with app.app_context():
        assert consent_service().granted(ACCOUNT, account_id, "marketing")
    withdrawn = client.put("/v1/me/consents/marketing", json={"granted": False},
                           headers=bearer(token))
    assert withdrawn.status_code == 200 and withdrawn.json["granted"] is False
    with app.app_context():
        # The next check after the withdrawal already sees it: nothing is cached.
        assert not consent_service().granted(ACCOUNT, account_id, "marketing")
        db.session.rollback()
    history = client.get("/v1/me/data", headers=bearer(token)).json["consents"]
    assert [c["granted"] for c in history] == [True, False]


@pytest.mark.parametrize("purpose", ["license.compliance", "support", "no-such-purpose"])
def test_only_consent_based_purposes_take_consent(client, world, purpose):
    world.setup()
    token = token_for(client)
    answer = client.put(f"/v1/me/consents/{purpose}", json={"granted": True},
                        headers=bearer(token))
    assert answer.status_code == 404 and answer.json["code"] == "NOT_FOUND"


def test_consent_needs_a_boolean(client, world):
    world.setup()
    token = token_for(client)
    answer = client.put("/v1/me/consents/marketing", json={"granted": "yes"},
                        headers=bearer(token))
    assert answer.status_code == 400 and answer.json["code"] == "VALIDATION_FAILED"


@pytest.mark.parametrize("method, path", [
    ("get", "/v1/me/licenses"), ("get", "/v1/me/activations"), ("get", "/v1/me/requests"),
    ("get", "/v1/me/consents"), ("get", "/v1/me/notices"),
    ("delete", "/v1/me/activations/act_x"), ("delete", "/v1/session")])
def test_every_self_service_endpoint_needs_a_session(client, method, path):
    answer = getattr(client, method)(path)
    assert answer.status_code == 401 and answer.json["code"] == "UNAUTHENTICATED"
