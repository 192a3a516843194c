"""Console pages for the compliance role: the records queue and the disclosures queue.

Each action is the call the compliance API makes, on the same services
(``RecordService``, ``DisclosureService``): holds and closes keep their
reason with the record; a disclosure is checked against the sharing matrix
and, when refused, the page shows the refusal naming the record and the rule;
a re-identifying disclosure waits for a second officer, and its creator's
own approval is refused with a message that says so.
"""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from core.database import db
from licensing.compliance.signals import TAGS
from licensing.compliance.wiring import disclosure_service, try_delivery
from licensing.web.console import REFUSALS, blp, refusal_text, staff_page
from licensing.web.forms import (ApproveDisclosureForm, CloseRecordForm, DisclosureFilterForm,
                                 DisclosureForm, HoldForm, RecordFilterForm)
from privacy.audit import clean_reason
from privacy.legal.disclosures import as_disclosure_dict
from privacy.legal.models import DISCLOSURE_STATUSES, RECORD_STATUSES
from privacy.legal.records import RecordService, as_dict

RECORD_TAGS = tuple(dict.fromkeys(tag for tags in TAGS.values() for tag in tags))


def _hold_form(record: dict) -> HoldForm:
    return HoldForm(formdata=None, prefix=f"hold-{record['id']}",
                    hold="no" if record["legal_hold"] else "yes")


def _close_form(record: dict) -> CloseRecordForm:
    return CloseRecordForm(formdata=None, prefix=f"close-{record['id']}")


def _records_page(refusal: str | None = None, status: int = 200):
    form = RecordFilterForm(request.args, meta={"csrf": False}, tags=RECORD_TAGS,
                            kinds=tuple(TAGS), statuses=RECORD_STATUSES)
    chosen = form.data if form.validate() else {}
    found = RecordService(db.session).list(chosen.get("tag") or None, chosen.get("kind") or None,
                                           chosen.get("status") or None)
    return render_template("console/compliance_records.html", title="Compliance records",
                           form=form, records=[as_dict(record) for record in found],
                           hold_form=_hold_form, close_form=_close_form,
                           refusal=refusal), status


@blp.route("/compliance/records")
@staff_page("compliance")
def compliance_records():
    """The records queue, newest first (GET /v1/compliance/records?tag=&kind=&status=)."""
    return _records_page()


@blp.route("/compliance/records/<record_id>/hold", methods=["POST"])
@staff_page("compliance")
def hold_record(record_id: str):
    """Put a record on legal hold or lift it (POST /v1/compliance/records/{id}/hold)."""
    form = HoldForm(prefix=f"hold-{record_id}")
    if not form.validate_on_submit():
        return _records_page("Give a reason (3 to 200 characters) for the hold.", 400)
    hold = form.hold.data == "yes"
    try:
        RecordService(db.session).hold(record_id, hold, clean_reason(form.reason.data))
    except REFUSALS as error:
        return _records_page(refusal_text(error), error.status)
    db.session.commit()
    flash(f"Record {record_id} is {'on legal hold' if hold else 'no longer on hold'}.",
          "success")
    return redirect(url_for("console.compliance_records"))


@blp.route("/compliance/records/<record_id>/close", methods=["POST"])
@staff_page("compliance")
def close_record(record_id: str):
    """Close a record's case (POST /v1/compliance/records/{id}/close)."""
    form = CloseRecordForm(prefix=f"close-{record_id}")
    if not form.validate_on_submit():
        return _records_page("Give a reason and tick the box to close the case.", 400)
    try:
        RecordService(db.session).close(record_id, clean_reason(form.reason.data))
    except REFUSALS as error:
        return _records_page(refusal_text(error), error.status)
    db.session.commit()
    flash(f"Record {record_id} is closed; its retention runs from now.", "success")
    return redirect(url_for("console.compliance_records"))


def _disclosure_form(service, formdata=None) -> DisclosureForm:
    form = DisclosureForm(formdata) if formdata is not None else DisclosureForm(
        formdata=None, records=request.args.get("record", "")[:40])
    form.recipient.choices = [(r.id, f"{r.name} ({r.category})") for r in service.recipients()]
    return form


def _disclosures_page(form: DisclosureForm | None = None, refusal: str | None = None,
                      status: int = 200):
    service = disclosure_service()
    query = DisclosureFilterForm(request.args, meta={"csrf": False},
                                 statuses=DISCLOSURE_STATUSES)
    chosen = query.data if query.validate() else {}
    rows = [as_disclosure_dict(disclosure, recipient)
            for disclosure, recipient in service.list(chosen.get("status") or None)]
    return render_template(
        "console/compliance_disclosures.html", title="Disclosures", query=query,
        disclosures=rows, form=form or _disclosure_form(service), refusal=refusal,
        approve_form=lambda row: ApproveDisclosureForm(formdata=None, prefix=row["id"]),
        me=g.actor.id), status


@blp.route("/compliance/disclosures")
@staff_page("compliance")
def compliance_disclosures():
    """The disclosures queue and the form to disclose (GET /v1/compliance/disclosures)."""
    return _disclosures_page()


@blp.route("/compliance/disclosures", methods=["POST"])
@staff_page("compliance")
def create_disclosure():
    """Disclose records to a recipient, as the sharing matrix allows (POST .../disclosures)."""
    service = disclosure_service()
    form = _disclosure_form(service, request.form)
    if not form.validate():
        return _disclosures_page(form, status=400)
    try:
        disclosure = service.create(g.actor, form.record_ids(), form.recipient.data,
                                    (form.legal_reference.data or "").strip() or None,
                                    form.reidentify.data, g.get("request_id"))
    except REFUSALS as error:
        return _disclosures_page(form, refusal_text(error), error.status)
    disclosure_id, pending = disclosure.id, disclosure.status == "pending"
    db.session.commit()
    if pending:
        try_delivery(disclosure_id)
        flash(f"Disclosure {disclosure_id} is queued for delivery.", "success")
    else:
        flash(f"Disclosure {disclosure_id} waits for a second compliance officer's approval.",
              "success")
    return redirect(url_for("console.compliance_disclosures"))


@blp.route("/compliance/disclosures/<disclosure_id>/approve", methods=["POST"])
@staff_page("compliance")
def approve_disclosure(disclosure_id: str):
    """A second officer approves a re-identifying disclosure (POST .../{id}/approve)."""
    form = ApproveDisclosureForm(prefix=disclosure_id)
    if not form.validate_on_submit():
        return _disclosures_page(refusal="Tick the box to approve the disclosure.", status=400)
    try:
        disclosure_service().approve(g.actor, disclosure_id, g.get("request_id"))
    except REFUSALS as error:
        return _disclosures_page(refusal=refusal_text(error), status=error.status)
    db.session.commit()
    try_delivery(disclosure_id)
    flash(f"Disclosure {disclosure_id} is approved and queued for delivery.", "success")
    return redirect(url_for("console.compliance_disclosures"))
