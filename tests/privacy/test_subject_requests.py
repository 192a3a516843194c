"""Data-subject requests end to end: filed, entered, extended, rejected, completed, overdue."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from core.database import db
from licensing.accounts.models import Account
from privacy.objections import ObjectionService
from privacy.providers import ACCOUNT
from privacy.requests.deadlines import due_at
from privacy_support import invoke_json, staff_token
from support import Device

PASSWORD = "correct horse battery staple"
REASON = {"X-Access-Reason": "DSR ticket 4411"}


def customer(client, username="alice") -> dict:
    answer = client.post("/v1/session", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 201, answer.json
    return {"Authorization": f"Bearer {answer.json['token']}"}


def officer(app, role="privacy") -> dict:
    # Staff names are unique: each officer a test asks for is a new member of staff.
    name = f"{role}-{secrets.token_hex(4)}"
    return {"Authorization": f"Bearer {staff_token(app, role, name)}", **REASON}


def file(client, headers, kind, details=None):
    body = {"type": kind, **({"details": details} if details is not None else {})}
    return client.post("/v1/me/requests", json=body, headers=headers)


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def account_id(client, headers) -> str:
    return client.get("/v1/me", headers=headers).json["id"]


def test_a_filed_request_is_due_one_calendar_month_after_receipt(client, world):
    world.setup()
    me = customer(client)
    answer = file(client, me, "erasure", {"note": "please remove everything"})
    assert answer.status_code == 202
    request = answer.json
    assert request["id"].startswith("req_") and request["status"] == "received"
    assert parse(request["due_at"]) == due_at(parse(request["received_at"]))
    (listed,) = client.get("/v1/me/requests", headers=me).json["requests"]
    assert listed["id"] == request["id"] and listed["details"] == {
        "note": "please remove everything"}
    assert listed["outcome"] is None and listed["overdue"] is False


def test_calendar_months_end_at_the_end_of_a_short_month():
    received = datetime(2027, 1, 31, 12, tzinfo=timezone.utc)
    assert due_at(received) == datetime(2027, 2, 28, 12, tzinfo=timezone.utc)
    assert due_at(received, 2) == datetime(2027, 4, 30, 12, tzinfo=timezone.utc)


def test_a_second_open_request_of_the_same_type_is_a_conflict(client, world):
    world.setup()
    me = customer(client)
    first = file(client, me, "restriction").json
    second = file(client, me, "restriction")
    assert second.status_code == 409 and second.json["code"] == "CONFLICT"
    assert second.json["errors"]["id"] == first["id"]
    assert file(client, me, "objection").status_code == 202


@pytest.mark.parametrize("kind, details, field", [
    ("rectification", {}, "details"), ("rectification", {"password": "x"}, "password"),
    ("rectification", {"email": "not-an-address"}, "email"),
    ("rectification", {"country": "Belgium"}, "country"),
    ("erasure", {"email": "a@example.com"}, "email"), ("deletion", None, "type")])
def test_bad_requests_are_refused_with_the_field(client, world, kind, details, field):
    world.setup()
    answer = file(client, customer(client), kind, details)
    assert answer.status_code == 400 and field in answer.json["errors"]


def test_only_privacy_officers_handle_requests(app, client, world):
    world.setup()
    for role in ("support", "compliance"):
        answer = client.get("/v1/privacy/requests", headers=officer(app, role))
        assert answer.status_code == 403 and answer.json["code"] == "FORBIDDEN"
    assert client.get("/v1/privacy/requests").status_code == 401
    assert client.get("/v1/privacy/requests", headers=officer(app, "admin")).status_code == 200


def test_a_request_received_32_days_ago_is_overdue_and_too_late_to_extend(app, client, runner,
                                                                         world):
    world.setup()
    subject = account_id(client, customer(client))
    staff = officer(app)
    received = (datetime.now(timezone.utc) - timedelta(days=32)).replace(microsecond=0)
    entered = client.post("/v1/privacy/requests", headers=staff, json={
        "account": subject, "type": "erasure", "channel": "email",
        "received_at": received.isoformat()})
    assert entered.status_code == 201, entered.json
    assert parse(entered.json["received_at"]) == received
    assert entered.json["overdue"] is True and entered.json["account"] == subject
    fresh = client.post("/v1/privacy/requests", headers=staff, json={
        "account": subject, "type": "access", "channel": "post"}).json
    overdue = client.get("/v1/privacy/requests?overdue=true", headers=staff).json["requests"]
    assert [r["id"] for r in overdue] == [entered.json["id"]]
    listed = invoke_json(runner, "privacy", "requests", "--overdue")
    assert [r["id"] for r in listed["requests"]] == [entered.json["id"]]
    text = runner.invoke(args=["privacy", "requests", "--overdue"]).output
    assert entered.json["id"] in text and "OVERDUE" in text and fresh["id"] not in text
    late = client.post(f"/v1/privacy/requests/{entered.json['id']}/extend", headers=staff,
                       json={"months": 2, "reason": "many systems to search"})
    assert late.status_code == 409 and late.json["code"] == "CONFLICT"
    scraped = client.get("/metrics").get_data(as_text=True)
    assert 'tessera_privacy_requests_open{overdue="true"} 1.0' in scraped
    assert 'tessera_privacy_requests_open{overdue="false"} 1.0' in scraped


def test_an_entered_request_may_not_come_from_the_future(app, client, world):
    world.setup()
    subject = account_id(client, customer(client))
    tomorrow = datetime.now(timezone.utc) + timedelta(days=1)
    answer = client.post("/v1/privacy/requests", headers=officer(app), json={
        "account": subject, "type": "erasure", "channel": "email",
        "received_at": tomorrow.isoformat()})
    assert answer.status_code == 400 and "received_at" in answer.json["errors"]
    unknown = client.post("/v1/privacy/requests", headers=officer(app), json={
        "account": "acc_nosuchaccount", "type": "erasure", "channel": "email"})
    assert unknown.status_code == 404


def test_an_extension_is_granted_once_within_the_first_month(app, client, world):
    world.setup()
    request = file(client, customer(client), "access").json
    staff = officer(app)
    path = f"/v1/privacy/requests/{request['id']}/extend"
    without_reason = client.post(path, headers=staff, json={"months": 1})
    assert without_reason.status_code == 400 and "reason" in without_reason.json["errors"]
    assert client.post(path, headers=staff,
                       json={"months": 3, "reason": "complex"}).status_code == 400
    extended = client.post(path, headers=staff, json={"months": 2, "reason": "complex case"})
    assert extended.status_code == 200 and extended.json["status"] == "extended"
    assert parse(extended.json["due_at"]) == due_at(parse(request["received_at"]), 2)
    assert extended.json["extension"] == {"months": 2, "reason": "complex case"}
    again = client.post(path, headers=staff, json={"months": 1, "reason": "still complex"})
    assert again.status_code == 409


def test_a_rejection_gives_the_subject_the_reason(app, client, world):
    world.setup()
    me = customer(client)
    request = file(client, me, "erasure").json
    answer = client.post(f"/v1/privacy/requests/{request['id']}/reject", headers=officer(app),
                         json={"reason": "identity could not be verified"})
    assert answer.status_code == 200 and answer.json["status"] == "rejected"
    (mine,) = client.get("/v1/me/requests", headers=me).json["requests"]
    assert mine["outcome"] == {"reason": "identity could not be verified"}
    again = client.post(f"/v1/privacy/requests/{request['id']}/complete", headers=officer(app),
                        json={})
    assert again.status_code == 409


def test_restriction_stops_refresh_until_lifted_after_a_notice(app, client, world):
    world.setup()
    device = Device()
    seat = device.activate(client, **world.credentials()).json["activation_id"]
    me = customer(client)
    request = file(client, me, "restriction", {"note": "I contest the accuracy"}).json
    staff = officer(app)
    done = client.post(f"/v1/privacy/requests/{request['id']}/complete", headers=staff, json={})
    assert done.status_code == 200 and done.json["status"] == "completed"
    refused = device.refresh(client, seat)
    assert refused.status_code == 403 and refused.json["code"] == "ACCOUNT_RESTRICTED"
    activation = Device().activate(client, **world.credentials())
    assert activation.status_code == 403 and activation.json["code"] == "ACCOUNT_RESTRICTED"
    assert client.get("/v1/me/notices", headers=me).json["notices"] == []
    subject = account_id(client, me)
    lifted = client.post(f"/v1/privacy/accounts/{subject}/lift-restriction", headers=staff)
    assert lifted.status_code == 200 and lifted.json["restricted"] is False
    (notice,) = client.get("/v1/me/notices", headers=me).json["notices"]
    assert notice["kind"] == "restriction_lifted" and notice["id"] == lifted.json["notice"]
    assert parse(notice["created_at"]) <= parse(lifted.json["lifted_at"])
    assert device.refresh(client, seat).status_code == 200
    again = client.post(f"/v1/privacy/accounts/{subject}/lift-restriction", headers=staff)
    assert again.status_code == 409


def test_rectification_changes_the_named_fields(app, client, world):
    world.setup()
    me = customer(client)
    request = file(client, me, "rectification",
                   {"email": "alice.new@example.org", "country": "nl"}).json
    staff = officer(app)
    (queued,) = client.get("/v1/privacy/requests", headers=staff).json["requests"]
    assert queued["details"] == {"email": "a***@example.org", "country": "NL"}
    done = client.post(f"/v1/privacy/requests/{request['id']}/complete", headers=staff,
                       json={})
    assert done.status_code == 200 and done.json["outcome"]["changed"] == ["country", "email"]
    profile = client.get("/v1/me", headers=me).json
    assert (profile["email"], profile["country"]) == ("alice.new@example.org", "NL")


def test_an_upheld_objection_stops_license_compliance_for_the_account(app, client, world):
    world.setup()
    me = customer(client)
    request = file(client, me, "objection").json
    done = client.post(f"/v1/privacy/requests/{request['id']}/complete", headers=officer(app),
                       json={})
    assert done.status_code == 200 and done.json["outcome"] == {"stopped": ["license.compliance"]}
    subject = account_id(client, me)
    with app.app_context():
        objections = ObjectionService(db.session)
        assert objections.objects(ACCOUNT, subject, "license.compliance")
        excluded = db.session.scalars(
            sa.select(Account.id).where(
                Account.id.in_(objections.objecting("license.compliance", ACCOUNT)))).all()
        assert excluded == [subject]
    assert client.get("/v1/me/data", headers=me).json["objections"][0]["purpose"] == (
        "license.compliance")


def test_compelling_grounds_reject_an_objection(app, client, world):
    world.setup()
    me = customer(client)
    request = file(client, me, "objection").json
    done = client.post(f"/v1/privacy/requests/{request['id']}/complete", headers=officer(app),
                       json={"compelling_grounds": "ongoing licence audit"})
    assert done.status_code == 200 and done.json["status"] == "rejected"
    assert done.json["outcome"] == {"compelling_grounds": "ongoing licence audit"}
    with app.app_context():
        assert not ObjectionService(db.session).objects(
            ACCOUNT, account_id(client, me), "license.compliance")


def test_an_access_request_leaves_a_notice_that_the_export_is_ready(app, client, world):
    world.setup()
    me = customer(client)
    request = file(client, me, "access").json
    done = client.post(f"/v1/privacy/requests/{request['id']}/complete", headers=officer(app),
                       json={})
    # The account holder's data, and the Legal-obligation section (disclosures about them).
    assert done.status_code == 200 and done.json["outcome"]["sections"] == ["licensing", "legal"]
    (notice,) = client.get("/v1/me/notices", headers=me).json["notices"]
    assert notice["kind"] == "export_ready"


def test_every_decision_is_in_the_access_log(app, client, world):
    world.setup()
    me = customer(client)
    request = file(client, me, "access").json
    staff = officer(app)
    client.post(f"/v1/privacy/requests/{request['id']}/complete", headers=staff, json={})
    log = client.get("/v1/privacy/access-log?subject=alice", headers=staff).json["entries"]
    assert [e["action"] for e in log][-1] == "privacy.request.access"
    assert log[-1]["reason"] == "DSR ticket 4411"
