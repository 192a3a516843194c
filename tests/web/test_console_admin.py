"""Console pages for admin: products, licenses, staff and recipients, over AdminService."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from pages_support import post_form, sign_in_staff

from core.database import db
from licensing.catalog.models import ActivationCode, License, Product
from licensing.support.models import Staff
from privacy.legal.models import Recipient

LICENSES = "/console/admin/licenses"


def _one(app, model, *where):
    with app.app_context():
        found = db.session.scalars(sa.select(model).where(*where)).all()
        db.session.expunge_all()
        return found


def test_admin_lists_and_creates_products(client, app):
    sign_in_staff(client, app, "admin")
    assert "No product yet." in client.get("/console/admin/products").get_data(as_text=True)
    made = post_form(client, "/console/admin/products", "/console/admin/products",
                     {"code": "numflo", "name": "NumFlo Pro", "fingerprint_match": "most"})
    assert made.status_code == 302
    (product,) = _one(app, Product)
    assert (product.code, product.name, product.fingerprint_match) == ("numflo", "NumFlo Pro",
                                                                       "most")
    assert "NumFlo Pro" in client.get("/console/admin/products").get_data(as_text=True)
    twice = post_form(client, "/console/admin/products", "/console/admin/products",
                      {"code": "numflo", "name": "Again", "fingerprint_match": "exact"})
    assert twice.status_code == 409
    assert "already exists" in twice.get_data(as_text=True)


def test_admin_issues_finds_and_changes_a_license(client, app, world):
    world.setup()
    sign_in_staff(client, app, "admin")
    issued = post_form(client, LICENSES, LICENSES,
                       {"account": "alice", "product": "numflo", "kind": "trial", "seats": "3",
                        "days": "", "seat_mode": "node_locked"})
    assert issued.status_code == 302
    license_id = issued.headers["Location"].rsplit("/", 1)[1]
    (license,) = _one(app, License, License.id == license_id)
    assert (license.kind, license.seats, license.status) == ("trial", 3, "active")
    page = client.get(f"{LICENSES}/{license_id}").get_data(as_text=True)
    assert "Suspend the license" in page and "Reinstate the license" not in page

    found = post_form(client, LICENSES, f"{LICENSES}/find", {"reference": "alice"})
    html = found.get_data(as_text=True)
    assert found.status_code == 200 and license_id in html and "Licenses found" in html
    assert 'value="alice"' not in html

    for action, status in (("suspend", "suspended"), ("reinstate", "active"),
                           ("revoke", "revoked")):
        unconfirmed = post_form(client, f"{LICENSES}/{license_id}",
                                f"{LICENSES}/{license_id}/{action}", {})
        assert unconfirmed.status_code == 400
        done = post_form(client, f"{LICENSES}/{license_id}", f"{LICENSES}/{license_id}/{action}",
                         {f"{action}-confirm": "y"})
        assert done.status_code == 302, action
        assert _one(app, License, License.id == license_id)[0].status == status
    refused = post_form(client, f"{LICENSES}/{license_id}", f"{LICENSES}/{license_id}/reinstate",
                        {"reinstate-confirm": "y"})
    assert refused.status_code == 409
    assert "A revoked license cannot become active." in refused.get_data(as_text=True)


def test_renew_and_a_code_shown_once(client, app, world):
    license_id = world.setup()
    (before,) = _one(app, License, License.id == license_id)
    sign_in_staff(client, app, "admin")
    renewed = post_form(client, f"{LICENSES}/{license_id}", f"{LICENSES}/{license_id}/renew",
                        {"renew-days": "10"})
    assert renewed.status_code == 302
    (after,) = _one(app, License, License.id == license_id)
    assert (after.expires_at - before.expires_at).days == 10
    coded = post_form(client, f"{LICENSES}/{license_id}", f"{LICENSES}/{license_id}/codes",
                      {"code-days": "5"})
    assert coded.status_code == 201
    assert "shown only now" in coded.get_data(as_text=True)
    assert len(_one(app, ActivationCode, ActivationCode.license_id == license_id)) == 1
    assert "shown only now" not in client.get(f"{LICENSES}/{license_id}").get_data(as_text=True)


def test_an_unknown_account_is_refused_on_the_form(client, app, world):
    world.setup()
    sign_in_staff(client, app, "admin")
    refused = post_form(client, LICENSES, LICENSES,
                        {"account": "nobody", "product": "numflo", "kind": "subscription",
                         "seats": "1", "seat_mode": "node_locked"})
    assert refused.status_code == 404
    assert "No account &#39;nobody&#39;." in refused.get_data(as_text=True)
    assert len(_one(app, License)) == 1


def test_admin_adds_staff_sees_the_token_once_and_disables_them(client, app):
    sign_in_staff(client, app, "admin")
    made = post_form(client, "/console/admin/staff", "/console/admin/staff",
                     {"name": "Carol Compliance", "role": "compliance", "password": ""})
    assert made.status_code == 201
    token = re.search(r"tss_[A-Za-z0-9_\-]+", made.get_data(as_text=True)).group(0)
    assert token not in client.get("/console/admin/staff").get_data(as_text=True)
    assert client.get("/v1/compliance/records",
                      headers={"Authorization": f"Bearer {token}"}).status_code == 200
    (carol,) = _one(app, Staff, Staff.name == "Carol Compliance")
    disabled = post_form(client, "/console/admin/staff", f"/console/admin/staff/{carol.id}/disable",
                         {f"staff{carol.id}-confirm": "y"})
    assert disabled.status_code == 302
    assert _one(app, Staff, Staff.id == carol.id)[0].disabled_at is not None
    assert client.get("/v1/compliance/records",
                      headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_admin_registers_recipients(client, app):
    sign_in_staff(client, app, "admin")
    added = post_form(client, "/console/admin/recipients", "/console/admin/recipients",
                      {"name": "BSA", "category": "anti_piracy_org",
                       "endpoint": "https://reports.example.org/tessera"})
    assert added.status_code == 302
    (recipient,) = _one(app, Recipient)
    assert (recipient.name, recipient.category) == ("BSA", "anti_piracy_org")
    assert "reports.example.org" in client.get("/console/admin/recipients").get_data(
        as_text=True)
    refused = post_form(client, "/console/admin/recipients", "/console/admin/recipients",
                        {"name": "Bad", "category": "anti_piracy_org", "endpoint": "ftp://x.org/"})
    assert refused.status_code == 400
    assert "Must be an" in refused.get_data(as_text=True)


@pytest.mark.parametrize("role", ["support", "compliance", "privacy"])
def test_admin_pages_answer_403_to_other_roles(client, app, role):
    sign_in_staff(client, app, role)
    for page in ("/console/admin/products", LICENSES, "/console/admin/staff",
                 "/console/admin/recipients"):
        answer = client.get(page)
        assert answer.status_code == 403, page
        assert answer.mimetype == "text/html"
