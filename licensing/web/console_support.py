"""Console pages for the support role: find accounts and devices, open a license, act on it.

Each look-up is the support service the JSON API uses, acting for the staff
member with the reason typed into the form as its X-Access-Reason, so the
access log reads the same whichever way support worked. What support typed
to search (a username, an email, a device ID) is posted, never put in a URL,
and is not written back into the page.

The reason given at a search is kept in the console session as the case's
reason, and opening a license from the results is logged under it; a
license opened directly asks for a reason first.
"""

from __future__ import annotations

from flask import flash, g, redirect, render_template, session, url_for

from core.database import db
from licensing.support.wiring import support_service
from licensing.web.console import blp, staff_page
from licensing.web.forms import (CaseReasonForm, DeviceSearchForm, FreshCodeForm, ReleaseSeatForm,
                                 SupportSearchForm)
from privacy.audit import Access, clean_reason
from privacy.purposes import SUPPORT

CASE_REASON = "case_reason"


def _support(reason: str):
    access = Access(g.actor, SUPPORT, clean_reason(reason), g.get("request_id"))
    return support_service(access)


def _search_page(form=None, device_form=None, **results):
    return render_template("console/search.html", title="Search",
                           form=form or SupportSearchForm(),
                           device_form=device_form or DeviceSearchForm(prefix="device"),
                           accounts=results.get("accounts"),
                           activations=results.get("activations"))


@blp.route("/search", methods=["GET", "POST"])
@staff_page("support")
def search():
    """Find an account by exact username or email (GET /v1/support/accounts)."""
    form = SupportSearchForm()
    if not form.validate_on_submit():
        return _search_page(form)
    support = _support(form.reason.data)
    query = form.query.data.strip()
    accounts = (support.accounts_by_email(query) if form.by.data == "email"
                else support.accounts_by_username(query))
    db.session.commit()
    session[CASE_REASON] = clean_reason(form.reason.data)
    form.query.data = ""
    return _search_page(form, accounts=accounts)


@blp.route("/devices", methods=["POST"])
@staff_page("support")
def devices():
    """A device's activations by product and device ID (GET /v1/support/devices)."""
    device_form = DeviceSearchForm(prefix="device")
    if not device_form.validate_on_submit():
        return _search_page(device_form=device_form)
    activations = _support(device_form.reason.data).devices(device_form.product.data.strip(),
                                                            device_form.fingerprint.data)
    db.session.commit()
    session[CASE_REASON] = clean_reason(device_form.reason.data)
    device_form.fingerprint.data = ""
    return _search_page(device_form=device_form, activations=activations)


def _license_page(license_id: str, code=None, code_form=None, status=200):
    license = _support(session[CASE_REASON]).license(license_id)
    db.session.commit()
    return render_template(
        "console/license.html", title="License", license=license, code=code,
        code_form=code_form or FreshCodeForm(),
        release_form=lambda activation_id: ReleaseSeatForm(prefix=activation_id)), status


@blp.route("/licenses/<license_id>", methods=["GET", "POST"])
@staff_page("support")
def license(license_id: str):
    """One license and its devices (GET /v1/support/licenses/{id}), under the case's reason."""
    form = CaseReasonForm()
    if form.validate_on_submit():
        session[CASE_REASON] = clean_reason(form.reason.data)
        return redirect(url_for("console.license", license_id=license_id))
    if not session.get(CASE_REASON):
        return render_template("console/case_reason.html", title="Why open this record?",
                               form=form)
    return _license_page(license_id)


@blp.route("/licenses/<license_id>/activations/<activation_id>/release", methods=["POST"])
@staff_page("support")
def release(license_id: str, activation_id: str):
    """Release a seat (POST /v1/support/activations/{id}/release); the reason is logged."""
    form = ReleaseSeatForm(prefix=activation_id)
    if not form.validate_on_submit():
        flash("Give a reason and tick the box to release the seat.", "error")
        return redirect(url_for("console.license", license_id=license_id))
    _support(form.reason.data).release(activation_id)
    db.session.commit()
    flash("The seat is released: the device's next refresh is refused.", "success")
    return redirect(url_for("console.license", license_id=license_id))


@blp.route("/licenses/<license_id>/codes", methods=["POST"])
@staff_page("support")
def fresh_code(license_id: str):
    """A fresh single-use code (POST /v1/support/licenses/{id}/codes).

    The code is shown in this answer and nowhere else: redirecting would carry
    it through the session cookie, which is signed but readable.
    """
    form = FreshCodeForm()
    if not form.validate_on_submit():
        if not session.get(CASE_REASON):
            return redirect(url_for("console.license", license_id=license_id))
        return _license_page(license_id, code_form=form, status=400)
    code = _support(form.reason.data).issue_code(license_id, form.days.data)
    db.session.commit()
    session.setdefault(CASE_REASON, clean_reason(form.reason.data))
    return _license_page(license_id, code=code, status=201)

