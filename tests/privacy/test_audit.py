"""The access audit: who read whose data, why and when — with no raw personal data in it."""

from __future__ import annotations

import sqlalchemy as sa
from privacy_support import staff_token
from support import Device

from core.database import db
from licensing.accounts.directory import AccountDirectory
from licensing.wiring import components
from privacy.audit import Access, Actor
from privacy.models import AccessLogEntry
from privacy.wiring import audit_service


def _lookup(app, email: str, reason: str = "TICKET-42 customer called"):
    with app.app_context():
        directory = AccountDirectory(db.session, components().pseudonymizer)
        access = Access(Actor("staff:7", "support"), "support", reason, "req-0001")
        account = directory.lookup_by_email(email, access, audit_service())
        db.session.commit()
        return account.id if account else None


def test_an_email_lookup_by_a_person_is_recorded_without_the_email(app, world):
    world.setup()
    account_id = _lookup(app, "ALICE@example.com")
    assert account_id is not None
    assert _lookup(app, "nobody@example.com") is None
    with app.app_context():
        (entry,) = db.session.scalars(sa.select(AccessLogEntry)).all()
        assert (entry.actor, entry.actor_role, entry.purpose, entry.action, entry.request_id) == (
            "staff:7", "support", "support", "account.lookup", "req-0001")
        row = " ".join(str(v) for v in db.session.execute(
            sa.select(AccessLogEntry.__table__)).one())
    for raw in ("alice", "example.com", account_id):
        assert raw not in row.lower()


def test_access_log_endpoint_shows_reads_and_records_itself(app, client, world):
    world.setup()
    _lookup(app, "alice@example.com", "TICKET-42 from alice@example.com at 81.2.69.160")
    token = staff_token(app, "privacy")
    headers = {"Authorization": f"Bearer {token}", "X-Access-Reason": "DSR-9 access request"}
    first = client.get("/v1/privacy/access-log?subject=alice", headers=headers)
    assert first.status_code == 200, first.json
    (entry,) = first.json["entries"]
    assert entry["reason"] == "TICKET-42 from [redacted] at [redacted]"
    assert entry["actor"] == "staff:7" and entry["purpose"] == "support"
    second = client.get(f"/v1/privacy/access-log?subject={first.json['subject']}",
                        headers=headers)
    assert [e["action"] for e in second.json["entries"]] == [
        "privacy.access_log.read", "account.lookup"]
    by_email = client.get("/v1/privacy/access-log?subject=alice@example.com&limit=1",
                          headers=headers)
    assert len(by_email.json["entries"]) == 1 and by_email.json["subject"] == first.json["subject"]


def test_access_log_endpoint_validates(app, client, world):
    world.setup()
    token = staff_token(app, "privacy")
    auth = {"Authorization": f"Bearer {token}"}
    no_reason = client.get("/v1/privacy/access-log?subject=alice", headers=auth)
    assert no_reason.status_code == 400 and "X-Access-Reason" in no_reason.json["errors"]
    headers = {**auth, "X-Access-Reason": "DSR-9"}
    assert client.get("/v1/privacy/access-log", headers=headers).json["code"] == (
        "VALIDATION_FAILED")
    unknown = client.get("/v1/privacy/access-log?subject=alice&sort=x", headers=headers)
    assert unknown.status_code == 400
    missing = client.get("/v1/privacy/access-log?subject=mallory", headers=headers)
    assert missing.status_code == 404 and missing.json["code"] == "NOT_FOUND"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AccessLogEntry.id))) == 0


def test_an_erased_subject_is_still_found_by_pseudonym(app, client, runner, world):
    world.setup()
    _lookup(app, "alice@example.com")
    erased = runner.invoke(args=["privacy", "erase-subject", "alice", "--commit", "--json"])
    assert erased.exit_code == 0
    token = staff_token(app, "privacy")
    headers = {"Authorization": f"Bearer {token}", "X-Access-Reason": "DSR-9"}
    assert client.get("/v1/privacy/access-log?subject=alice", headers=headers).status_code == 404
    with app.app_context():
        pseudonym = db.session.scalar(sa.select(AccessLogEntry.subject_pseudonym).limit(1))
    answer = client.get(f"/v1/privacy/access-log?subject={pseudonym}", headers=headers)
    assert [e["action"] for e in answer.json["entries"]] == ["privacy.erase", "account.lookup"]


def test_a_support_release_is_recorded_with_its_reason(app, client, world):
    world.setup()
    activation_id = Device().activate(client, **world.credentials()).json["activation_id"]
    token = staff_token(app, "support", name="Sam")
    released = client.post(f"/v1/support/activations/{activation_id}/release", headers={
        "Authorization": f"Bearer {token}", "X-Access-Reason": "TICKET-9 Alice lost her laptop"})
    assert released.status_code == 200
    with app.app_context():
        (entry,) = db.session.scalars(sa.select(AccessLogEntry)).all()
        assert (entry.actor_role, entry.purpose, entry.action) == (
            "support", "support", "support.activation.release")
        assert entry.actor.startswith("staff:")
        # The subject's own name is scrubbed from the free text.
        assert entry.reason == "TICKET-9 [redacted] lost her laptop"
