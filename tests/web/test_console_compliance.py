"""Console pages for compliance officers: the records queue and the disclosures queue."""

from __future__ import annotations

import sqlalchemy as sa
from pages_support import add_recipient, plant_record, post_form, sign_in_staff

from core.database import db
from privacy.legal.models import Disclosure, LegalRecord

RECORDS = "/console/compliance/records"
DISCLOSURES = "/console/compliance/disclosures"


def _record(app, record_id: str) -> LegalRecord:
    with app.app_context():
        record = db.session.get(LegalRecord, record_id)
        db.session.expunge_all()
        return record


def _disclosures(app) -> list[Disclosure]:
    with app.app_context():
        found = list(db.session.scalars(sa.select(Disclosure).order_by(Disclosure.created_at)))
        db.session.expunge_all()
        return found


def test_the_records_queue_lists_and_filters_records(client, app, world):
    license_id = world.setup()
    piracy = plant_record(app, license_id)
    export = plant_record(app, license_id, kind="export_blocked_country", country="KP")
    sign_in_staff(client, app, "compliance")
    html = client.get(RECORDS).get_data(as_text=True)
    assert piracy in html and export in html and "sbj_" in html
    only_export = client.get(RECORDS, query_string={"tag": "export.compliance"})
    assert export in only_export.get_data(as_text=True)
    assert piracy not in only_export.get_data(as_text=True)
    by_kind = client.get(RECORDS, query_string={"kind": "foreign_key_refresh", "status": "open"})
    assert piracy in by_kind.get_data(as_text=True)
    assert export not in by_kind.get_data(as_text=True)


def test_hold_release_and_close_keep_their_reasons(client, app, world):
    record_id = plant_record(app, world.setup())
    sign_in_staff(client, app, "compliance")
    held = post_form(client, RECORDS, f"{RECORDS}/{record_id}/hold",
                     {f"hold-{record_id}-hold": "yes",
                      f"hold-{record_id}-reason": "LEGAL-12 pending suit"})
    assert held.status_code == 302
    record = _record(app, record_id)
    assert record.legal_hold is True and record.hold_reason == "LEGAL-12 pending suit"
    assert "legal hold" in client.get(RECORDS).get_data(as_text=True)
    released = post_form(client, RECORDS, f"{RECORDS}/{record_id}/hold",
                         {f"hold-{record_id}-hold": "no",
                          f"hold-{record_id}-reason": "LEGAL-12 settled"})
    assert released.status_code == 302
    assert _record(app, record_id).legal_hold is False
    unconfirmed = post_form(client, RECORDS, f"{RECORDS}/{record_id}/close",
                            {f"close-{record_id}-reason": "LEGAL-13 done"})
    assert unconfirmed.status_code == 400 and _record(app, record_id).status == "open"
    closed = post_form(client, RECORDS, f"{RECORDS}/{record_id}/close",
                       {f"close-{record_id}-reason": "LEGAL-13 done",
                        f"close-{record_id}-confirm": "y"})
    assert closed.status_code == 302
    record = _record(app, record_id)
    assert record.status == "closed" and record.close_reason == "LEGAL-13 done"
    assert record.retain_until is not None
    again = post_form(client, RECORDS, f"{RECORDS}/{record_id}/close",
                      {f"close-{record_id}-reason": "LEGAL-13 done",
                       f"close-{record_id}-confirm": "y"})
    assert again.status_code == 409
    assert "already closed" in again.get_data(as_text=True)


def test_a_hold_needs_a_reason(client, app, world):
    record_id = plant_record(app, world.setup())
    sign_in_staff(client, app, "compliance")
    refused = post_form(client, RECORDS, f"{RECORDS}/{record_id}/hold",
                        {f"hold-{record_id}-hold": "yes", f"hold-{record_id}-reason": ""})
    assert refused.status_code == 400
    assert "Give a reason" in refused.get_data(as_text=True)
    assert _record(app, record_id).legal_hold is False


def test_a_disclosure_the_matrix_refuses_names_the_rule_and_stores_nothing(client, app, world):
    record_id = plant_record(app, world.setup())
    authority = add_recipient(app, "export_authority", "Export Office")
    sign_in_staff(client, app, "compliance")
    refused = post_form(client, DISCLOSURES, DISCLOSURES,
                        {"records": record_id, "recipient": authority})
    assert refused.status_code == 403
    html = refused.get_data(as_text=True)
    assert f"Record {record_id} may not go to a export_authority recipient" in html
    assert "sharing matrix: anti_piracy records -&gt; export_authority: no" in html
    assert _disclosures(app) == []


def test_law_enforcement_needs_a_legal_reference(client, app, world):
    record_id = plant_record(app, world.setup())
    police = add_recipient(app, "law_enforcement", "Police")
    sign_in_staff(client, app, "compliance")
    refused = post_form(client, DISCLOSURES, DISCLOSURES,
                        {"records": record_id, "recipient": police})
    assert refused.status_code == 400
    assert "needs a legal reference" in refused.get_data(as_text=True)
    assert _disclosures(app) == []


def test_an_allowed_disclosure_is_queued(client, app, world):
    record_id = plant_record(app, world.setup())
    org = add_recipient(app, "anti_piracy_org", "Anti-Piracy Org")
    sign_in_staff(client, app, "compliance")
    assert record_id in client.get(DISCLOSURES, query_string={"record": record_id}).get_data(
        as_text=True)
    made = post_form(client, DISCLOSURES, DISCLOSURES,
                     {"records": f"{record_id}, {record_id}", "recipient": org})
    assert made.status_code == 302
    (disclosure,) = _disclosures(app)
    assert disclosure.record_ids == [record_id] and disclosure.reidentify is False
    assert disclosure.status == "pending" and disclosure.attempts == 1  # tried at once, down
    html = client.get(DISCLOSURES).get_data(as_text=True)
    assert disclosure.id in html and "Anti-Piracy Org" in html


def test_reidentification_waits_for_a_second_officer(client, app, world):
    record_id = plant_record(app, world.setup())
    police = add_recipient(app, "law_enforcement", "Police")
    sign_in_staff(client, app, "compliance", name="first-officer")
    made = post_form(client, DISCLOSURES, DISCLOSURES,
                     {"records": record_id, "recipient": police, "legal_reference": "ORDER-77",
                      "reidentify": "y"})
    assert made.status_code == 302
    (disclosure,) = _disclosures(app)
    assert disclosure.status == "awaiting_approval"
    page = client.get(DISCLOSURES).get_data(as_text=True)
    assert "a second compliance officer must approve it" in page
    assert f"Approve {disclosure.id}" not in page
    own = post_form(client, DISCLOSURES, f"{DISCLOSURES}/{disclosure.id}/approve",
                    {f"{disclosure.id}-confirm": "y"})
    assert own.status_code == 403
    assert "the officer who asked for it cannot" in own.get_data(as_text=True)
    assert _disclosures(app)[0].status == "awaiting_approval"

    second = app.test_client()
    sign_in_staff(second, app, "compliance", name="second-officer")
    assert f"Approve {disclosure.id}" in second.get(DISCLOSURES).get_data(as_text=True)
    approved = post_form(second, DISCLOSURES, f"{DISCLOSURES}/{disclosure.id}/approve",
                         {f"{disclosure.id}-confirm": "y"})
    assert approved.status_code == 302
    (disclosure,) = _disclosures(app)
    assert disclosure.status == "pending" and disclosure.approved_by != disclosure.created_by


def test_compliance_pages_answer_403_to_other_roles(client, app):
    for role in ("support", "privacy"):
        sign_in_staff(client, app, role, name=f"{role}-person")
        for page in (RECORDS, DISCLOSURES):
            answer = client.get(page)
            assert answer.status_code == 403, (role, page)
            assert "Not allowed" in answer.get_data(as_text=True)


def test_admin_sees_the_compliance_queues(client, app):
    sign_in_staff(client, app, "admin")
    html = client.get("/console/").get_data(as_text=True)
    assert 'href="/console/compliance/records"' in html
    assert 'href="/console/admin/recipients"' in html
    assert client.get(RECORDS).status_code == 200
    assert client.get(DISCLOSURES).status_code == 200
