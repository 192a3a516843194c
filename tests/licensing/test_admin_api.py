"""The admin API and `flask admin` are twins: the same service, the same answers."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from privacy_support import invoke_json, staff_token
from support import Device

from core.database import db, rfc3339
from licensing.catalog.models import License

VOLATILE = ("id", "created_at", "starts_at", "expires_at", "account", "token")


@pytest.fixture
def admin_token(app):
    return staff_token(app, "admin", name="Ada")


def _post(client, token, path, body=None):
    return client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})


def _stable(record: dict) -> dict:
    return {key: value for key, value in record.items() if key not in VOLATILE}


def test_product_account_license_and_code_through_the_api(client, admin_token):
    product = _post(client, admin_token, "/v1/admin/products", {"code": "numflo", "name": "N"})
    assert product.status_code == 201 and product.json["code"] == "numflo"
    account = _post(client, admin_token, "/v1/admin/accounts",
                    {"username": "alice", "email": "alice@example.com", "password": "pw-alice-0001-long",
                     "country": "be"})
    assert account.status_code == 201 and account.json["id"].startswith("acc_")
    assert account.json["country"] == "BE"
    license = _post(client, admin_token, "/v1/admin/licenses",
                    {"account": account.json["id"], "product": "numflo", "kind": "subscription",
                     "seats": 1, "days": 10, "entitlements": ["solver"], "lease_seconds": 600})
    assert license.status_code == 201
    assert _stable(license.json) == {"product": "numflo", "kind": "subscription",
                                     "status": "active", "seats": 1, "entitlements": ["solver"],
                                     "lease_seconds": 600, "grace_seconds": 14 * 86400,
                                     "offline_lease_seconds": 90 * 86400,
                                     "seat_mode": "node_locked", "max_borrow_seconds": 7 * 86400}
    assert license.json["account"] == account.json["id"]
    code = _post(client, admin_token, f"/v1/admin/licenses/{license.json['id']}/codes")
    assert code.status_code == 201
    assert Device().activate(client, activation_code=code.json["code"]).status_code == 201
    again = _post(client, admin_token, "/v1/admin/products", {"code": "numflo", "name": "N"})
    assert again.status_code == 409 and again.json["code"] == "CONFLICT"
    unknown = _post(client, admin_token, "/v1/admin/licenses",
                    {"account": "acc_nobody", "product": "numflo", "kind": "trial", "seats": 1})
    assert unknown.status_code == 404


def test_license_state_changes_reach_the_desktop(app, client, world, admin_token):
    license_id = world.setup(seats=2)
    device = Device()
    activation_id = device.activate(client, **world.credentials()).json["activation_id"]
    base = f"/v1/admin/licenses/{license_id}"
    assert _post(client, admin_token, f"{base}/suspend").json["status"] == "suspended"
    assert device.refresh(client, activation_id).json["code"] == "LICENSE_SUSPENDED"
    assert _post(client, admin_token, f"{base}/reinstate").json["status"] == "active"
    assert device.refresh(client, activation_id).status_code == 200
    with app.app_context():
        ended = db.session.get(License, license_id).expires_at
    renewed = _post(client, admin_token, f"{base}/renew", {"days": 30}).json
    assert renewed["expires_at"] == rfc3339(ended + timedelta(days=30))
    assert _post(client, admin_token, f"{base}/revoke").json["status"] == "revoked"
    assert device.refresh(client, activation_id).json["code"] == "LICENSE_REVOKED"
    refused = _post(client, admin_token, f"{base}/reinstate")
    assert refused.status_code == 409 and refused.json["code"] == "CONFLICT"
    assert _post(client, admin_token, f"{base}/renew", {}).status_code == 400


def test_renewing_a_perpetual_license_is_a_conflict(client, world, admin_token):
    license_id = world.setup(kind="perpetual")
    refused = _post(client, admin_token, f"/v1/admin/licenses/{license_id}/renew", {"days": 5})
    assert refused.status_code == 409


def test_staff_through_the_api(client, admin_token):
    created = _post(client, admin_token, "/v1/admin/staff",
                    {"name": "Sam", "role": "support", "password": "sam-long-password"})
    assert created.status_code == 201
    assert created.json["token"].startswith("tss_") and created.json["role"] == "support"
    staff_id, token = created.json["id"], created.json["token"]
    lookup = {"Authorization": f"Bearer {token}", "X-Access-Reason": "TICKET-1"}
    assert client.get("/v1/support/accounts?username=x", headers=lookup).status_code == 200
    extra = _post(client, admin_token, f"/v1/admin/staff/{staff_id}/tokens")
    assert extra.status_code == 201 and extra.json["staff"] == staff_id
    revoked = _post(client, admin_token,
                    f"/v1/admin/staff/{staff_id}/tokens/{extra.json['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json["revoked_at"]
    disabled = _post(client, admin_token, f"/v1/admin/staff/{staff_id}/disable")
    assert disabled.status_code == 200 and disabled.json["disabled_at"]
    assert client.get("/v1/support/accounts?username=x", headers=lookup).status_code == 401
    duplicate = _post(client, admin_token, "/v1/admin/staff", {"name": "Sam", "role": "admin"})
    assert duplicate.status_code == 409
    bad_role = _post(client, admin_token, "/v1/admin/staff", {"name": "X", "role": "root"})
    assert bad_role.status_code == 400 and "role" in bad_role.json["errors"]
    assert _post(client, admin_token, "/v1/admin/staff/999999/disable").status_code == 404


def test_the_cli_and_the_api_give_the_same_records(client, runner, admin_token):
    cli_product = invoke_json(runner, "admin", "create-product", "cliprod", "CLI")
    api_product = _post(client, admin_token, "/v1/admin/products",
                        {"code": "apiprod", "name": "CLI"}).json
    assert set(cli_product) == set(api_product)
    cli_account = invoke_json(runner, "admin", "create-account", "bob", "--email",
                              "bob@example.com", "--password", "pw-bob-0123-long")
    api_account = _post(client, admin_token, "/v1/admin/accounts",
                        {"username": "carol", "email": "carol@example.com"}).json
    assert set(cli_account) == set(api_account)
    issue = ["--seats", "2", "--kind", "trial", "--days", "7", "--entitlement", "solver"]
    cli_license = invoke_json(runner, "admin", "issue-license", "bob", "cliprod", *issue)
    api_license = _post(client, admin_token, "/v1/admin/licenses",
                        {"account": api_account["id"], "product": "cliprod", "kind": "trial",
                         "seats": 2, "days": 7, "entitlements": ["solver"]}).json
    assert _stable(cli_license) == _stable(api_license)
    for action in ("suspend", "reinstate", "revoke"):
        cli = invoke_json(runner, "admin", action, cli_license["id"])
        api = _post(client, admin_token, f"/v1/admin/licenses/{api_license['id']}/{action}").json
        assert _stable(cli) == _stable(api)
    cli_staff = invoke_json(runner, "admin", "create-staff", "Cli Person", "--role", "privacy")
    api_staff = _post(client, admin_token, "/v1/admin/staff",
                      {"name": "Api Person", "role": "privacy"}).json
    assert set(cli_staff) == set(api_staff)
    assert _stable(cli_staff) | {"name": None} == _stable(api_staff) | {"name": None}


def test_admin_bodies_are_validated(client, admin_token):
    unknown_field = _post(client, admin_token, "/v1/admin/products",
                          {"code": "x", "name": "y", "colour": "red"})
    assert unknown_field.status_code == 400 and "colour" in unknown_field.json["errors"]
    not_json = client.post("/v1/admin/products", data="code=x",
                           headers={"Authorization": f"Bearer {admin_token}",
                                    "Content-Type": "application/x-www-form-urlencoded"})
    assert not_json.status_code == 415
    bad_email = _post(client, admin_token, "/v1/admin/accounts",
                      {"username": "dave", "email": "not-an-email"})
    assert bad_email.status_code == 400 and "email" in bad_email.json["errors"]
    zero_seats = _post(client, admin_token, "/v1/admin/licenses",
                       {"account": "acc_x", "product": "p", "kind": "trial", "seats": 0})
    assert zero_seats.status_code == 400 and "seats" in zero_seats.json["errors"]


def test_the_openapi_document_describes_the_staff_endpoints(client):
    paths = client.get("/openapi.json").json["paths"]
    for path in ("/v1/support/accounts", "/v1/support/devices", "/v1/support/licenses/{license_id}",
                 "/v1/admin/products", "/v1/admin/licenses/{license_id}/revoke",
                 "/v1/admin/staff/{staff_id}/disable"):
        assert path in paths, path
    assert json.dumps(paths["/v1/support/accounts"]).count("X-Access-Reason") == 1
