"""The Customer Area: sign in for a bearer token, the account's profile, and its data export."""

from __future__ import annotations

import json
import statistics
import time
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from privacy_support import invoke_json, staff_token
from support import Device

from core.database import db
from licensing.accounts.models import Account, CustomerSession
from licensing.accounts.sessions import CustomerSessionService
from licensing.wiring import components
from privacy import pseudonym as domains
from privacy.providers import ACCOUNT
from privacy.purposes import CATEGORIES, LAWFUL_BASES, PURPOSES
from privacy.wiring import components as privacy_components

SESSION = "/v1/session"


def sign_in(client, username="alice", password=None, **environ):
    body = {"username": username, "password": password or "correct horse battery staple"}
    return client.post(SESSION, json=body, environ_base=environ)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def token_of(client, username="alice") -> str:
    answer = sign_in(client, username)
    assert answer.status_code == 201, answer.json
    return answer.json["token"]


def open_session(app, username="alice", clock=None) -> str:
    """A session made by the service itself, at CLOCK's time."""
    with app.app_context():
        account = db.session.scalar(sa.select(Account).where(Account.username == username))
        service = CustomerSessionService(db.session, components().pseudonymizer, 3600,
                                         clock=clock or (lambda: datetime.now(timezone.utc)))
        token, _ = service.open(account)
        db.session.commit()
        return token


def test_sign_in_answers_a_bearer_token_that_opens_the_profile(client, world):
    world.setup()
    before = datetime.now(timezone.utc)
    answer = sign_in(client)
    assert answer.status_code == 201
    assert answer.headers["Cache-Control"] == "no-store"
    token = answer.json["token"]
    assert token.startswith("tcs_") and len(token) >= 40
    expires = datetime.fromisoformat(answer.json["expires_at"].replace("Z", "+00:00"))
    assert timedelta(minutes=59) < expires - before <= timedelta(hours=1, seconds=5)
    me = client.get("/v1/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.headers["Cache-Control"] == "no-store"
    assert me.json["username"] == "alice" and me.json["email"] == "alice@example.com"
    assert me.json["id"].startswith("acc_") and me.json["restricted_at"] is None


def test_the_session_lifetime_is_configurable(app_config, app_factory, world):
    world.setup()
    client = app_factory(TESSERA_SESSION_SECONDS=120).test_client()
    answer = sign_in(client)
    expires = datetime.fromisoformat(answer.json["expires_at"].replace("Z", "+00:00"))
    assert expires - datetime.now(timezone.utc) <= timedelta(seconds=121)


def test_wrong_password_and_unknown_user_get_the_activation_answer(client, world):
    world.setup()
    wrong = sign_in(client, password="not the password")
    unknown = sign_in(client, username="mallory")
    activation = Device().activate(client, username="alice", password="not the password")
    assert wrong.status_code == unknown.status_code == activation.status_code == 401
    assert wrong.json == unknown.json == activation.json
    assert wrong.json["code"] == "INVALID_CREDENTIALS"
    # RFC 9110: every 401 names a scheme; no token was sent, so no error is named.
    assert wrong.headers["WWW-Authenticate"] == 'Bearer realm="tessera"'


def test_an_unknown_user_costs_a_password_check_too(client, world):
    world.setup()

    def median_seconds(username: str) -> float:
        times = []
        for _ in range(5):
            started = time.perf_counter()
            assert sign_in(client, username=username, password="wrong").status_code == 401
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    known, unknown = median_seconds("alice"), median_seconds("nobody-by-this-name")
    # Without the decoy hash an unknown name would answer in a fraction of the argon2id time.
    assert unknown > 0.5 * known, (known, unknown)


def test_failed_sign_ins_share_the_activation_failure_limit(app_factory, world):
    world.setup()
    client = app_factory(TESSERA_RATELIMIT_ACCOUNT_FAILURES="3 per hour").test_client()
    assert sign_in(client, password="wrong").status_code == 401
    wrong_activation = Device().activate(client, username="alice", password="wrong")
    assert wrong_activation.status_code == 401
    assert sign_in(client, password="wrong").status_code == 401
    refused = sign_in(client)  # the right password, but the account's failures are spent
    assert refused.status_code == 429 and refused.json["code"] == "RATE_LIMITED"
    assert int(refused.headers["Retry-After"]) >= 1
    assert Device().activate(client, **world.credentials()).status_code == 429


def test_sign_ins_count_against_the_address_budget(app_factory, world):
    world.setup()
    client = app_factory(TESSERA_RATELIMIT_ADDRESS_ATTEMPTS="2 per minute").test_client()
    address = {"REMOTE_ADDR": "198.51.100.9"}
    assert sign_in(client, **address).status_code == 201
    assert sign_in(client, password="wrong", **address).status_code == 401
    assert sign_in(client, **address).status_code == 429
    assert sign_in(client, REMOTE_ADDR="198.51.100.10").status_code == 201


@pytest.mark.parametrize("body, content_type, status, code", [
    ({"username": "alice"}, None, 400, "VALIDATION_FAILED"),
    ({"username": "alice", "password": "x", "remember": True}, None, 400, "VALIDATION_FAILED"),
    (None, "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"),
    (None, "application/json", 400, "MALFORMED_JSON"),
])
def test_bad_sign_in_requests_are_refused_before_credentials(client, world, body, content_type,
                                                             status, code):
    world.setup()
    if body is not None:
        answer = client.post(SESSION, json=body)
    else:
        answer = client.post(SESSION, data=b"{not json", content_type=content_type)
    assert answer.status_code == status and answer.json["code"] == code
    assert answer.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/v1/me", "/v1/me/data"])
def test_missing_forged_or_foreign_tokens_are_401(app, client, world, path):
    world.setup()
    missing = client.get(path)
    assert missing.status_code == 401 and missing.json["code"] == "UNAUTHENTICATED"
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="tessera"'
    assert missing.headers["Cache-Control"] == "no-store"
    staff = staff_token(app, "admin")
    for header in ("Bearer tcs_forged-token", f"Bearer {staff}", "Basic YWxpY2U6cHc=",
                   "Bearer ", "Bearer tcs_" + "a" * 200):
        refused = client.get(path, headers={"Authorization": header})
        assert refused.status_code == 401, header
        assert refused.json == missing.json
        assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]


def test_an_expired_token_is_401(app, client, world):
    world.setup()
    two_hours_ago = datetime.now(timezone.utc) - timedelta(hours=2)
    expired = open_session(app, clock=lambda: two_hours_ago)
    live = open_session(app)
    refused = client.get("/v1/me", headers=bearer(expired))
    assert refused.status_code == 401 and refused.json["code"] == "UNAUTHENTICATED"
    assert client.get("/v1/me", headers=bearer(live)).status_code == 200


def test_the_token_is_stored_only_as_its_hmac(app, client, world):
    world.setup()
    token = token_of(client)
    with app.app_context():
        expected = components().pseudonymizer.pseudonym(domains.SESSION_TOKEN, token).value
        (row,) = db.session.scalars(sa.select(CustomerSession)).all()
        assert row.token_hmac == expected and row.key_version == 1
        stored = [str(value) for table in db.metadata.sorted_tables
                  if table.info.get("bind_key") is None
                  for record in db.session.execute(sa.select(table)) for value in record]
    assert stored and not [value for value in stored if token in value or token[4:] in value]


def _activate(client, world, username="alice", device_name="Lab PC"):
    answer = Device().activate(client, **world.credentials(username), device_name=device_name,
                               platform="linux")
    assert answer.status_code == 201, answer.json
    return answer.json["activation_id"]


def test_the_export_holds_the_accounts_licenses_and_seats_and_why(app, client, world):
    alice_license = world.setup(seats=3)
    bob_license = world.setup(username="bob")
    alice_seat = _activate(client, world, device_name="Alice's lab PC")
    bob_seat = _activate(client, world, "bob", device_name="Bob's desktop")
    support = staff_token(app, "support")
    released = client.post(f"/v1/support/activations/{alice_seat}/release",
                           headers={**bearer(support), "X-Access-Reason": "TICKET-42"})
    assert released.status_code == 200

    answer = client.get("/v1/me/data", headers=bearer(token_of(client)))
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    report = answer.json
    assert report["subject"]["kind"] == ACCOUNT
    mine = report["data"]["licensing"]
    assert mine["account"]["username"] == "alice"
    assert mine["account"]["email"] == "alice@example.com"
    assert [lic["id"] for lic in mine["licenses"]] == [alice_license]
    (seat,) = mine["seats"]
    assert (seat["activation_id"], seat["license"], seat["device_name"]) == (
        alice_seat, alice_license, "Alice's lab PC")
    assert seat["release_reason"] == "support"
    assert seat["device_id"] == "stored only as a keyed pseudonym"
    assert len(mine["sessions"]) == 1
    text = json.dumps(report)
    for other in (bob_license, bob_seat, "Bob's desktop", "bob@example.com"):
        assert other not in text

    purposes = {p["key"]: p for p in report["purposes"]}
    assert {"license.activation", "license.refresh", "support", "privacy.rights"} <= set(purposes)
    assert "staff.access" not in purposes
    for key, purpose in purposes.items():
        declared = PURPOSES.get(key)
        assert purpose["lawful_basis"] == declared.lawful_basis
        assert purpose["lawful_basis_text"] == LAWFUL_BASES[declared.lawful_basis]
        assert purpose["retention"]["summary"] == declared.retention
        assert [r["key"] for r in purpose["recipients"]] == list(declared.recipients)
        for category in purpose["data_categories"]:
            assert category["description"] == CATEGORIES[category["key"]]
            assert category["source"]
    assert {"hosting_provider", "law_enforcement"} <= {r["key"] for r in report["recipients"]}
    assert any("supervisory authority" in right for right in report["rights"])
    (access,) = report["access_log"]
    assert access["actor_role"] == "support" and access["purpose"] == "support"
    assert "TICKET-42" not in text and "reason" not in access


def test_a_restricted_account_can_still_reach_its_own_data(app, client, world):
    world.setup()
    with app.app_context():
        provider = privacy_components().providers.providers(db.session, ACCOUNT)[0]
        provider.restrict(provider.find_subject("alice"), True)
        db.session.commit()
    refused = Device().activate(client, **world.credentials())
    assert refused.status_code == 403 and refused.json["code"] == "ACCOUNT_RESTRICTED"
    token = token_of(client)
    assert client.get("/v1/me", headers=bearer(token)).json["restricted_at"] is not None
    export = client.get("/v1/me/data", headers=bearer(token))
    assert export.status_code == 200
    assert export.json["data"]["licensing"]["account"]["restricted_at"] is not None


def test_an_erased_account_cannot_sign_in_and_its_sessions_end(app, client, runner, world):
    world.setup()
    token = token_of(client)
    report = invoke_json(runner, "privacy", "erase-subject", "alice", "--commit")
    assert "1 Customer Area session(s)" in report["erased"]["licensing"]
    assert client.get("/v1/me", headers=bearer(token)).status_code == 401
    assert sign_in(client).json["code"] == "INVALID_CREDENTIALS"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(CustomerSession.id))) == 0


def test_purge_deletes_expired_sessions_only(app, client, runner, world):
    world.setup()
    long_ago = datetime.now(timezone.utc) - timedelta(days=2)
    open_session(app, clock=lambda: long_ago)
    live = token_of(client)
    dry = invoke_json(runner, "privacy", "purge")
    rule = dry["purposes"]["license.activation"]["customer_sessions.expired"]
    assert rule["rows"] == 1 and rule["action"] == "delete"
    done = invoke_json(runner, "privacy", "purge", "--commit")
    assert done["purposes"]["license.activation"]["customer_sessions.expired"]["rows"] == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(CustomerSession.id))) == 1
    assert client.get("/v1/me", headers=bearer(live)).status_code == 200


def test_the_customer_area_is_in_the_openapi_document(client):
    spec = client.get("/openapi.json").json
    assert spec["components"]["securitySchemes"]["sessionToken"] == {
        "type": "http", "scheme": "bearer",
        "description": "Customer Area session token (tcs_...) from POST /v1/session"}
    session = spec["paths"]["/v1/session"]["post"]
    assert {"201", "400", "401", "415", "429"} <= set(session["responses"])
    body = session["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert set(spec["components"]["schemas"][body.rsplit("/", 1)[1]]["properties"]) == {
        "username", "password"}
    for path, schema in (("/v1/me", "Profile"), ("/v1/me/data", "SubjectAccessReport")):
        operation = spec["paths"][path]["get"]
        assert operation["security"] == [{"sessionToken": []}]
        assert "401" in operation["responses"]
        assert operation["responses"]["200"]["content"]["application/json"]["schema"][
            "$ref"].endswith("/" + schema)


def test_signing_out_ends_the_session_at_once(client, world):
    world.setup()
    token = token_of(client)
    assert client.get("/v1/me", headers=bearer(token)).status_code == 200
    answer = client.delete(SESSION, headers=bearer(token))
    assert answer.status_code == 204
    assert client.get("/v1/me", headers=bearer(token)).status_code == 401
    assert client.delete(SESSION, headers=bearer(token)).status_code == 401
