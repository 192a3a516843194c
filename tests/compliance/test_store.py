"""The compliance store: its own database, pseudonymous, retained and held, role-guarded."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from compliance_support import activate, from_country, records, refresh
from core.database import db, utcnow
from core.errors import ValidationFailed
from privacy.legal.disclosures import check_endpoint
from privacy.legal.models import LegalRecord, SubjectLink
from privacy.legal.subjects import reference
from privacy.wiring import components
from privacy_support import invoke_json
from support import Device

ROOT = Path(__file__).resolve().parents[2]
# World.setup makes the email <username>@example.com, the name <Username>.
CANARIES = {"username": "canaryuser7q", "email": "canaryuser7q@example.com",
            "fingerprint": "fp-canary-0d5e1f7a9b3c", "address": "81.2.69.160",
            "prefix": "81.2.69.0"}


def _compliance_dump(app) -> bytes:
    """Everything the compliance database holds, as bytes: the files, or every row."""
    with app.app_context():
        engine = db.engines["compliance"]
        if engine.dialect.name == "sqlite":
            path = Path(engine.url.database)
            return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT * FROM legal_records")).all()
        return repr(rows).encode()


def test_the_compliance_database_holds_no_raw_identifier(app, client, world, officer):
    world.setup()
    world.setup(seats=3, username=CANARIES["username"])
    credentials = world.credentials(CANARIES["username"])
    device = Device(CANARIES["fingerprint"])
    answer = activate(client, device, credentials).json
    activation = answer["activation_id"]
    path = f"/v1/activations/{activation}/refresh"
    client.post(path, json={}, headers={"DPoP": Device().proof("POST", path),
                                        **from_country("DE", CANARIES["address"])})
    refresh(client, device, activation, country="FR")          # clone suspected
    refresh(client, device, activation, country="SY")          # embargoed at refresh
    activate(client, Device(CANARIES["fingerprint"]), credentials, country="KP")
    kinds = {r["kind"] for r in records(client, officer)}
    assert kinds == {"foreign_key_refresh", "clone_suspected", "export_blocked_country"}
    dump = _compliance_dump(app)
    assert b"legal_records" in dump or b"foreign_key_refresh" in dump, "the dump is real"
    for name, canary in CANARIES.items():
        assert canary.encode() not in dump, f"the compliance store holds the {name}"
    with app.app_context():
        account_id = db.session.scalar(sa.text("SELECT id FROM accounts WHERE username = :u"),
                                       {"u": CANARIES["username"]})
    assert account_id.encode() not in dump, "not even the account id"
    assert b"Canary" not in dump and b"Example NV" not in dump


def test_records_live_in_the_compliance_database_only(app):
    with app.app_context():
        default = sa.inspect(db.engines[None]).get_table_names()
        compliance = sa.inspect(db.engines["compliance"]).get_table_names()
    assert "legal_records" in compliance and "legal_records" not in default
    assert {"disclosures", "disclosure_outbox", "disclosure_recipients",
            "legal_subject_links"} <= set(default)
    assert not {"disclosures", "accounts", "seats"} & set(compliance)


def test_a_reference_is_not_the_access_logs_pseudonym_and_changes_with_the_key(app):
    with app.app_context():
        pseudonymizer = components().pseudonymizer
        ref = reference(pseudonymizer, "account", "acc_x")
        assert ref.value.startswith("sbj_") and len(ref.value) == 24
        assert ref.value[4:] not in pseudonymizer.pseudonym("subject", "acc_x").value


def _seed(app, **columns) -> str:
    now = utcnow()
    values = {"kind": "foreign_key_refresh", "purpose": "anti_piracy", "tags": ["anti_piracy"],
              "lawful_basis": "legal_obligation", "subject": "sbj_" + "0" * 20,
              "subject_key_version": 1, "evidence": {}, "first_seen_at": now,
              "last_seen_at": now, "count": 1, "status": "open", "legal_hold": False}
    values.update(columns)
    with app.app_context():
        record = LegalRecord(**values)
        db.session.add(record)
        db.session.commit()
        return record.id


def test_records_expire_by_their_purposes_retention_unless_on_hold(app, runner):
    old = utcnow() - timedelta(days=4 * 365)
    gone = _seed(app, subject="sbj_" + "1" * 20, status="closed", closed_at=old)
    held = _seed(app, subject="sbj_" + "2" * 20, status="closed", closed_at=old,
                 legal_hold=True)
    still_open = _seed(app, subject="sbj_" + "3" * 20, first_seen_at=old, last_seen_at=old)
    recent = _seed(app, subject="sbj_" + "4" * 20, status="closed", closed_at=utcnow())
    export_old = _seed(app, kind="export_blocked_country", purpose="export.compliance",
                       tags=["export.compliance"], last_seen_at=utcnow() - timedelta(days=1900))
    export_new = _seed(app, kind="export_blocked_country", purpose="export.compliance",
                       tags=["export.compliance"], subject="sbj_" + "5" * 20)
    result = invoke_json(runner, "privacy", "purge", "--commit")
    assert result["purposes"]["anti_piracy"]["legal_records.anti_piracy"]["rows"] == 1
    assert result["purposes"]["export.compliance"]["legal_records.export"]["rows"] == 1
    with app.app_context():
        left = set(db.session.scalars(sa.select(LegalRecord.id)))
    assert left == {held, still_open, recent, export_new}
    assert not {gone, export_old} & left


def test_hold_and_close(client, world, officer):
    world.setup()
    activate(client, Device(), world.credentials(), country="CU")
    (record,) = records(client, officer)
    url = f"/v1/compliance/records/{record['id']}"
    held = client.post(f"{url}/hold", headers=officer, json={"hold": True,
                                                             "reason": "Case 2026-4"})
    assert held.status_code == 200 and held.json["legal_hold"] is True
    closed = client.post(f"{url}/close", headers=officer, json={"reason": "resolved"})
    assert closed.status_code == 200 and closed.json["status"] == "closed"
    assert client.post(f"{url}/close", headers=officer,
                       json={"reason": "again"}).status_code == 409
    assert records(client, officer, status="open") == []
    assert client.post("/v1/compliance/records/rec_none/close", headers=officer,
                       json={"reason": "resolved"}).status_code == 404
    # A new signal after the close opens a new case.
    activate(client, Device(), world.credentials(), country="CU")
    assert len(records(client, officer, tag="export.compliance")) == 2


def test_an_erasure_keeps_the_records_and_says_so(app, client, runner, world, officer):
    world.setup()
    activate(client, Device(), world.credentials(), country="KP")
    report = invoke_json(runner, "privacy", "erase-subject", "alice", "--commit")
    (kept,) = [k for k in report["kept"] if k["purpose"] == "export.compliance"]
    assert "1 export-compliance record(s), pseudonymous" == kept["what"]
    assert "Legal obligation" in kept["why"]
    assert len(records(client, officer)) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SubjectLink)) == 0


@pytest.mark.parametrize("method, path", [
    ("get", "/v1/compliance/records"),
    ("post", "/v1/compliance/records/rec_x/hold"),
    ("post", "/v1/compliance/records/rec_x/close"),
    ("post", "/v1/compliance/disclosures"),
    ("get", "/v1/compliance/disclosures"),
    ("post", "/v1/compliance/disclosures/dis_x/approve"),
    ("post", "/v1/admin/recipients"),
])
def test_support_staff_get_403_everywhere(client, support_staff, method, path):
    answer = getattr(client, method)(path, headers=support_staff, json={})
    assert answer.status_code == 403 and answer.json["code"] == "FORBIDDEN"
    assert getattr(client, method)(path, json={}).status_code == 401


def test_cli_adds_recipients_and_lists_records(app, client, runner, world):
    added = invoke_json(runner, "compliance", "add-recipient", "BSA", "--category",
                        "anti_piracy_org", "--endpoint", "https://bsa.example.test/in")
    assert added["id"].startswith("rcp_") and added["category"] == "anti_piracy_org"
    world.setup()
    activate(client, Device(), world.credentials(), country="KP")
    listed = invoke_json(runner, "compliance", "records", "--tag", "export.compliance")
    assert [r["kind"] for r in listed["records"]] == ["export_blocked_country"]
    assert invoke_json(runner, "compliance", "records", "--tag", "anti_piracy") == {
        "records": []}


def test_production_recipients_need_https():
    check_endpoint("https://police.example.test/in", allow_http=False)
    with pytest.raises(ValidationFailed) as refused:
        check_endpoint("http://police.example.test/in", allow_http=False)
    assert "https://" in refused.value.errors["endpoint"][0]
    check_endpoint("http://127.0.0.1:8080/in", allow_http=True)


def test_the_legal_engine_imports_no_licensing_module():
    script = ("import importlib, pkgutil, sys, privacy.legal\n"
              "for m in pkgutil.iter_modules(privacy.legal.__path__):\n"
              "    importlib.import_module('privacy.legal.' + m.name)\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] == 'licensing'))\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "[]"
