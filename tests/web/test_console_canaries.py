"""Canaries: no new console page shows a full email, an IP prefix, a pseudonym, a device key
or a raw fingerprint, whatever its data went through."""

from __future__ import annotations

import sqlalchemy as sa
from pages_support import add_recipient, plant_record, post_form, sign_in_staff
from support import Device

from core.database import db
from licensing.admin.services import AdminService
from licensing.accounts.models import Account
from licensing.activation.models import Seat
from licensing.wiring import components
from privacy import pseudonym as domains
from privacy.audit import subject_pseudonym
from privacy.legal import subjects
from privacy.providers import ACCOUNT
from privacy.wiring import request_service

CANARY = {"username": "canary-dora", "email": "Dora.Canary-5e1b@Example.ORG",
          "fingerprint": "CANARY-FINGERPRINT-0cc175b9c0f1b6a831c399e269772661",
          "address": "81.2.69.161"}


def _use_the_service(client, world) -> tuple[str, str]:
    """Dora's account, a license, an activation from her address, and a request."""
    with client.application.app_context():
        parts = components()
        AdminService(db.session, parts.pseudonymizer, parts.passwords).create_account(
            CANARY["username"], world.password, CANARY["email"], name="Dora Canary")
        db.session.commit()
    license_id = world.setup(username=CANARY["username"])
    with client.application.app_context():
        account_id = db.session.scalar(sa.select(Account.id).where(
            Account.username == CANARY["username"]))
        request_service().file(ACCOUNT, account_id, "rectification",
                               {"email": CANARY["email"], "name": "Dora Canary"})
        db.session.commit()
    device = Device(fingerprint=CANARY["fingerprint"])
    activated = client.post("/v1/activations", json=device.activation_body(
        username=CANARY["username"], password=world.password, device_name="Dora's box"),
        headers={"DPoP": device.proof("POST", "/v1/activations")},
        environ_base={"REMOTE_ADDR": CANARY["address"]})
    assert activated.status_code == 201, activated.json
    return license_id, activated.json["activation_id"]


def _planted(app, activation_id: str, password: str) -> dict[str, str]:
    with app.app_context():
        seat = db.session.get(Seat, activation_id)
        account = db.session.get(Account, seat.license.account_id)
        assert seat.ip_prefix and seat.device_public_key and seat.device_jkt
        pseudonyms = components().pseudonymizer
        legal = pseudonyms.pseudonym(subjects.DOMAIN, f"{ACCOUNT}:{account.id}").value
        return {"email": CANARY["email"], "email local part": CANARY["email"].split("@")[0],
                "ip prefix": seat.ip_prefix, "ip prefix network": seat.ip_prefix.split("/")[0],
                "address": CANARY["address"], "device pseudonym": seat.device_pseudonym,
                "email index": account.email_index,
                "subject pseudonym": subject_pseudonym(pseudonyms, account.id).value,
                "legal subject pseudonym": legal,
                "device public key": seat.device_public_key, "device thumbprint": seat.device_jkt,
                "fingerprint": CANARY["fingerprint"],
                "fingerprint pseudonym": pseudonyms.pseudonym(domains.DEVICE,
                                                              CANARY["fingerprint"]).value,
                "password": password}


def test_new_console_pages_carry_no_planted_identifier(client, app, world):
    license_id, activation_id = _use_the_service(client, world)
    record_id = plant_record(app, license_id)
    police = add_recipient(app, "law_enforcement", "Police")
    planted = _planted(app, activation_id, world.password)

    sign_in_staff(client, app, "admin")
    made = post_form(client, "/console/compliance/disclosures", "/console/compliance/disclosures",
                     {"records": record_id, "recipient": police, "legal_reference": "ORDER-1",
                      "reidentify": "y"})
    assert made.status_code == 302
    with app.app_context():
        request_id = db.session.scalar(sa.text("SELECT id FROM subject_requests"))
    found = post_form(client, "/console/admin/licenses", "/console/admin/licenses/find",
                      {"reference": CANARY["username"]})
    answers = [found] + [client.get(path) for path in (
        "/console/compliance/records", "/console/compliance/disclosures",
        "/console/admin/products", "/console/admin/licenses",
        f"/console/admin/licenses/{license_id}", "/console/admin/staff",
        "/console/admin/recipients", "/console/privacy/requests",
        f"/console/privacy/requests/{request_id}")]
    assert all(a.status_code == 200 for a in answers), [a.status_code for a in answers]
    pages = {a.request.path: a.get_data(as_text=True) for a in answers}
    assert record_id in pages["/console/compliance/records"]
    assert "D***@Example.ORG" in pages[f"/console/privacy/requests/{request_id}"]
    assert license_id in pages["/console/admin/licenses/find"]
    for path, html in pages.items():
        text = html.casefold()
        for what, value in planted.items():
            assert value.casefold() not in text, (what, path)
