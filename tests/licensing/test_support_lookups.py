"""Support's look-ups and actions: a reason each, one access-log entry each, minimised answers."""

from __future__ import annotations

import json

import sqlalchemy as sa
from staff_access import StaffWorld
from support import Device

from core.database import db
from licensing.accounts.models import Account
from licensing.activation.models import Seat
from licensing.wiring import components
from privacy import pseudonym as domains
from privacy.audit import subject_pseudonym
from privacy.models import AccessLogEntry

REASON = "TICKET-4711 customer lost laptop"
CANARY = {"username": "canary-carla", "email": "Carla.Canary-7f3a@Example.ORG",
          "password": "CANARY-PASSWORD-c4r14c4r14", "address": "81.2.69.160",
          "fingerprint": "CANARY-FINGERPRINT-9e107d9d372bb6826bd81d3542a419d6"}


def _get(client, path, token, reason=REASON, **query):
    headers = {"Authorization": f"Bearer {token}"}
    if reason is not None:
        headers["X-Access-Reason"] = reason
    return client.get(path, query_string=query, headers=headers)


def _post(client, path, token, reason=REASON, body=None):
    headers = {"Authorization": f"Bearer {token}", "X-Access-Reason": reason}
    return client.post(path, headers=headers, json=body)


def _log(app) -> list[AccessLogEntry]:
    with app.app_context():
        entries = list(db.session.scalars(sa.select(AccessLogEntry).order_by(AccessLogEntry.id)))
        db.session.expunge_all()
        return entries


def _staff_id(app, name: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.text("SELECT id FROM staff WHERE name = :n"), {"n": name})


def test_a_lookup_without_a_reason_is_refused_and_logs_nothing(app, client):
    world = StaffWorld(app).build()
    for reason in (None, "", "ab", "too long " * 30):
        refused = _get(client, "/v1/support/accounts", world.tokens["support"], reason=reason,
                       username="alice")
        assert refused.status_code == 400, reason
        assert refused.json["code"] == "VALIDATION_FAILED"
        assert "X-Access-Reason" in refused.json["errors"]
    assert _log(app) == []


def test_a_lookup_with_a_reason_answers_and_logs_staff_purpose_and_reason(app, client):
    world = StaffWorld(app).build()
    found = _get(client, "/v1/support/accounts", world.tokens["support"], username="alice")
    assert found.status_code == 200
    (account,) = found.json["accounts"]
    assert account["id"] == world.ids["account"] and account["email"] == "a***@example.com"
    assert account["restricted"] is False
    (license,) = account["licenses"]
    assert license["id"] == world.ids["license"] and license["seats_used"] == 1
    (entry,) = _log(app)
    assert entry.actor == f"staff:{_staff_id(app, 'support person')}"
    assert entry.actor_role == "support"
    assert entry.purpose == "support" and entry.reason == REASON
    assert entry.action == "support.account.lookup"
    with app.app_context():
        expected = subject_pseudonym(components().pseudonymizer, world.ids["account"]).value
    assert entry.subject_pseudonym == expected


def test_each_lookup_and_action_writes_exactly_one_entry(app, client):
    world = StaffWorld(app).build()
    token, ids = world.tokens["support"], world.ids
    calls = [
        ("support.account.lookup",
         lambda: _get(client, "/v1/support/accounts", token, email="ALICE@example.com ")),
        ("support.license.read", lambda: _get(client, f"/v1/support/licenses/{ids['license']}",
                                              token)),
        ("support.device.lookup", lambda: _get(client, "/v1/support/devices", token,
                                               product="numflo",
                                               fingerprint=ids["fingerprint"])),
        ("support.activation.release",
         lambda: _post(client, f"/v1/support/activations/{ids['activation']}/release", token)),
        ("support.license.code",
         lambda: _post(client, f"/v1/support/licenses/{ids['license']}/codes", token)),
    ]
    for count, (action, call) in enumerate(calls, start=1):
        answer = call()
        assert answer.status_code in (200, 201), (action, answer.json)
        entries = _log(app)
        assert len(entries) == count, action
        assert entries[-1].action == action and entries[-1].reason == REASON


def test_license_and_device_lookups(app, client):
    world = StaffWorld(app).build()
    token, ids = world.tokens["support"], world.ids
    license = _get(client, f"/v1/support/licenses/{ids['license']}", token).json
    assert license["account"] == {"id": ids["account"], "username": "alice", "restricted": False}
    (activation,) = license["activations"]
    assert activation == {"id": ids["activation"], "device_name": "Alice's laptop",
                          "platform": "linux", "country": "BE", "offline": False,
                          "activated_at": activation["activated_at"], "last_refresh_at": None,
                          "released_at": None}
    devices = _get(client, "/v1/support/devices", token, product="numflo",
                   fingerprint=ids["fingerprint"]).json["activations"]
    assert [(d["id"], d["license"]) for d in devices] == [(ids["activation"], ids["license"])]
    other_product = _get(client, "/v1/support/devices", token, product="other",
                         fingerprint=ids["fingerprint"])
    assert other_product.json == {"activations": []}
    nobody = _get(client, "/v1/support/accounts", token, username="nobody")
    assert nobody.json == {"accounts": []}
    assert _get(client, "/v1/support/licenses/lic_unknown", token).status_code == 404
    both = _get(client, "/v1/support/accounts", token, username="alice", email="a@example.com")
    assert both.status_code == 400


def test_support_issues_a_code_that_activates_once(app, client):
    world = StaffWorld(app).build()
    issued = _post(client, f"/v1/support/licenses/{world.ids['license']}/codes",
                   world.tokens["support"], body={"days": 3})
    assert issued.status_code == 201 and issued.json["expires_at"]
    assert Device().activate(client, activation_code=issued.json["code"]).status_code == 201
    again = Device().activate(client, activation_code=issued.json["code"])
    assert again.json["code"] == "INVALID_ACTIVATION_CODE"


def test_a_restricted_account_shows_it_and_refuses_actions(app, client):
    world = StaffWorld(app).build()
    token, ids = world.tokens["support"], world.ids
    with app.app_context():
        db.session.execute(sa.text("UPDATE accounts SET restricted_at = created_at"))
        db.session.commit()
    (account,) = _get(client, "/v1/support/accounts", token, username="alice").json["accounts"]
    assert account["restricted"] is True
    license = _get(client, f"/v1/support/licenses/{ids['license']}", token).json
    assert license["account"]["restricted"] is True
    release = _post(client, f"/v1/support/activations/{ids['activation']}/release", token)
    code = _post(client, f"/v1/support/licenses/{ids['license']}/codes", token)
    assert release.json["code"] == code.json["code"] == "ACCOUNT_RESTRICTED"
    with app.app_context():
        assert db.session.get(Seat, ids["activation"]).released_at is None
    assert [e.action for e in _log(app)] == ["support.account.lookup", "support.license.read"]


def test_support_answers_carry_no_planted_identifier(app, client, runner):
    """Canaries: a full email, an IP prefix, pseudonyms, device keys, a raw fingerprint."""
    world = StaffWorld(app).build()
    token = world.tokens["support"]
    runner.invoke(args=["admin", "create-account", CANARY["username"], "--email",
                        CANARY["email"], "--password", CANARY["password"]])
    license_id = json.loads(runner.invoke(args=[
        "admin", "issue-license", CANARY["username"], "numflo", "--seats", "2", "--kind",
        "subscription", "--json"]).stdout)["id"]
    device = Device(fingerprint=CANARY["fingerprint"])
    path = "/v1/activations"
    activated = client.post(path, json=device.activation_body(
        username=CANARY["username"], password=CANARY["password"], device_name="Carla's box"),
        headers={"DPoP": device.proof("POST", path)},
        environ_base={"REMOTE_ADDR": CANARY["address"]})
    assert activated.status_code == 201
    activation_id = activated.json["activation_id"]
    planted = _planted(app, activation_id)
    answers = [
        _get(client, "/v1/support/accounts", token, username=CANARY["username"]),
        _get(client, "/v1/support/accounts", token, email=CANARY["email"]),
        _get(client, f"/v1/support/licenses/{license_id}", token),
        _get(client, "/v1/support/devices", token, product="numflo",
             fingerprint=CANARY["fingerprint"]),
        _post(client, f"/v1/support/licenses/{license_id}/codes", token),
        _post(client, f"/v1/support/activations/{activation_id}/release", token),
    ]
    assert all(a.status_code in (200, 201) for a in answers), [a.json for a in answers]
    assert answers[0].json["accounts"][0]["email"] == "C***@Example.ORG"
    assert answers[3].json["activations"][0]["id"] == activation_id
    for answer in answers:
        text = answer.get_data(as_text=True).casefold()
        for what, value in planted.items():
            assert value.casefold() not in text, (what, answer.request.path)


def _planted(app, activation_id: str) -> dict:
    with app.app_context():
        seat = db.session.get(Seat, activation_id)
        account = db.session.get(Account, seat.license.account_id)
        assert seat.ip_prefix and seat.device_public_key and seat.device_jkt
        pseudonyms = components().pseudonymizer
        return {"email": CANARY["email"], "email local part": CANARY["email"].split("@")[0],
                "ip prefix": seat.ip_prefix, "ip prefix network": seat.ip_prefix.split("/")[0],
                "address": CANARY["address"], "device pseudonym": seat.device_pseudonym,
                "email index": account.email_index,
                "subject pseudonym": subject_pseudonym(pseudonyms, account.id).value,
                "device public key": seat.device_public_key, "device thumbprint": seat.device_jkt,
                "fingerprint": CANARY["fingerprint"],
                "fingerprint pseudonym": pseudonyms.pseudonym(domains.DEVICE,
                                                              CANARY["fingerprint"]).value,
                "password": CANARY["password"]}
