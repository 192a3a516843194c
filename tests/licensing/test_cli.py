"""The admin CLI: each command, its --json line, and key rotation."""

from __future__ import annotations

import json

import sqlalchemy as sa
from support import Device, decode_lease, unverified_claims, unverified_header

from core.database import db
from licensing.catalog.models import ActivationCode
from licensing.support.models import StaffToken


def invoke_json(runner, *args):
    result = runner.invoke(args=[*args, "--json"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    return json.loads(lines[0])


def seed(runner, seats=2):
    invoke_json(runner, "admin", "create-product", "numflo", "NUMFLO CFD")
    invoke_json(runner, "admin", "create-account", "alice", "--email", "alice@example.com",
                "--password", "s3cret-passw0rd", "--country", "be")
    return invoke_json(runner, "admin", "issue-license", "alice", "numflo", "--seats",
                       str(seats), "--kind", "subscription", "--days", "30",
                       "--entitlement", "solver", "--entitlement", "mesher")


def test_first_records_through_the_cli(runner, client):
    license = seed(runner)
    assert license["id"].startswith("lic_")
    assert license["seats"] == 2 and license["entitlements"] == ["solver", "mesher"]
    answer = Device().activate(client, username="alice", password="s3cret-passw0rd")
    assert answer.status_code == 201
    assert answer.json["license"]["id"] == license["id"]


def test_issue_code_prints_it_once_and_stores_only_hmac(app, runner, client):
    license = seed(runner)
    issued = invoke_json(runner, "admin", "issue-code", license["id"], "--days", "7")
    code = issued["code"]
    groups = code.split("-")
    assert len(groups) == 6 and all(len(group) == 5 for group in groups)
    with app.app_context():
        stored = db.session.scalar(sa.select(ActivationCode))
        assert code.replace("-", "") not in stored.code_hmac and len(stored.code_hmac) == 64
    assert Device().activate(client, activation_code=code).status_code == 201


def test_create_staff_token_is_stored_as_hmac(app, runner):
    staff = invoke_json(runner, "admin", "create-staff", "Sam", "--role", "support")
    assert staff["token"].startswith("tss_") and len(staff["token"]) > 40
    with app.app_context():
        row = db.session.scalar(sa.select(StaffToken))
        assert row.staff_id == staff["id"] and row.last_used_at is None
        assert row.token_hmac != staff["token"] and staff["token"] not in row.token_hmac


def test_duplicate_and_unknown_records_fail_cleanly(runner):
    seed(runner)
    again = runner.invoke(args=["admin", "create-product", "numflo", "Again"])
    assert again.exit_code == 1 and "already exists" in again.stderr
    missing = runner.invoke(args=["admin", "issue-license", "nobody", "numflo", "--seats", "1",
                                  "--kind", "trial"])
    assert missing.exit_code == 1 and "No account" in missing.stderr
    assert "Traceback" not in missing.output


def test_rotated_key_keeps_old_leases_verifiable(runner, client):
    seed(runner)
    device = Device()
    first = device.activate(client, username="alice", password="s3cret-passw0rd").json
    old_kid = invoke_json(runner, "keys", "init")["kid"]
    new = invoke_json(runner, "keys", "rotate", "--publish-ahead", "0")
    assert new["kid"] != old_kid
    jwks = client.get("/v1/keys").json
    assert {key["kid"] for key in jwks["keys"]} == {old_kid, new["kid"]}
    assert decode_lease(first["lease"], jwks)["sub"] == first["activation_id"]
    refreshed = device.refresh(client, first["activation_id"]).json
    assert unverified_claims(refreshed["lease"])["sub"] == first["activation_id"]
    kid = unverified_header(refreshed["lease"])["kid"]
    assert kid == new["kid"]
    assert decode_lease(refreshed["lease"], jwks)["cnf"]["jkt"] == device.jkt


def test_key_published_ahead_does_not_sign_yet(runner, client):
    seed(runner)
    old_kid = invoke_json(runner, "keys", "init")["kid"]
    new = invoke_json(runner, "keys", "rotate", "--publish-ahead", "3600")
    assert new["kid"] in {key["kid"] for key in client.get("/v1/keys").json["keys"]}
    lease = Device().activate(client, username="alice", password="s3cret-passw0rd").json["lease"]
    kid = unverified_header(lease)["kid"]
    assert kid == old_kid
