"""Console pages for the admin role: products, licenses, staff and disclosure recipients.

Each action calls the ``AdminService`` (or ``DisclosureService``) method the
admin API calls, and each page shows the ``*_record`` the API answers, so
the console, the API and ``flask admin`` cannot drift. Secrets made here (a
staff member's first token, an activation code) are shown in the answer that
made them and nowhere else: a redirect would carry them through the cookie.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from core.database import db, rfc3339
from licensing.admin.services import license_record, product_record, staff_record
from licensing.catalog.models import LICENSE_STATUSES
from licensing.compliance.wiring import allow_plain_http, disclosure_service
from licensing.support.wiring import admin_service
from licensing.web.console import REFUSALS, blp, refusal_text, staff_page
from licensing.web.forms import (DisableStaffForm, FindLicenseForm, IssueCodeForm,
                                 IssueLicenseForm, LicenseFilterForm, LicenseStatusForm,
                                 ProductForm, RecipientForm, RenewLicenseForm, StaffForm)

# -- products ------------------------------------------------------------------


def _products_page(form=None, refusal=None, status=200):
    products = [product_record(p) for p in admin_service().products()]
    return render_template("console/admin_products.html", title="Products", products=products,
                           form=form or ProductForm(formdata=None), refusal=refusal), status


@blp.route("/admin/products")
@staff_page("admin")
def admin_products():
    """Every product, and the form to create one."""
    return _products_page()


@blp.route("/admin/products", methods=["POST"])
@staff_page("admin")
def create_product():
    """Create a product (POST /v1/admin/products)."""
    form = ProductForm()
    if not form.validate_on_submit():
        return _products_page(form, status=400)
    try:
        product = admin_service().create_product(form.code.data.strip(), form.name.data.strip(),
                                                 form.fingerprint_match.data)
    except REFUSALS as error:
        return _products_page(form, refusal_text(error), error.status)
    code = product.code
    db.session.commit()
    flash(f"Product {code} is created.", "success")
    return redirect(url_for("console.admin_products"))


# -- licenses ------------------------------------------------------------------


def _issue_form(formdata=None) -> IssueLicenseForm:
    products = admin_service().products()
    if formdata is None:
        return IssueLicenseForm(formdata=None, products=products)
    return IssueLicenseForm(formdata, products=products)


def _licenses_page(found=None, find_form=None, issue_form=None, refusal=None, status=200):
    query = LicenseFilterForm(request.args, meta={"csrf": False}, statuses=LICENSE_STATUSES)
    chosen = query.data if query.validate() else {}
    listed = found if found is not None else admin_service().licenses(
        (chosen.get("product") or "").strip() or None, chosen.get("status") or None)
    return render_template(
        "console/admin_licenses.html", title="Licenses", query=query,
        licenses=[license_record(license) for license in listed], found=found is not None,
        find_form=find_form or FindLicenseForm(formdata=None),
        issue_form=issue_form or _issue_form(), refusal=refusal), status


@blp.route("/admin/licenses")
@staff_page("admin")
def admin_licenses():
    """The newest licenses (by product and status), finding one, and issuing one."""
    return _licenses_page()


@blp.route("/admin/licenses/find", methods=["POST"])
@staff_page("admin")
def find_licenses():
    """Licenses by license id, account id or username (posted: a username stays out of URLs)."""
    form = FindLicenseForm()
    if not form.validate_on_submit():
        return _licenses_page(find_form=form, status=400)
    try:
        found = admin_service().find_licenses(form.reference.data.strip())
    except REFUSALS as error:
        return _licenses_page(find_form=form, refusal=refusal_text(error), status=error.status)
    form.reference.data = ""
    return _licenses_page(found=found, find_form=form)


@blp.route("/admin/licenses", methods=["POST"])
@staff_page("admin")
def issue_license():
    """Issue a license to an account (POST /v1/admin/licenses)."""
    form = _issue_form(request.form)
    if not form.validate():
        return _licenses_page(issue_form=form, status=400)
    try:
        license = admin_service().issue_license(
            form.account.data.strip(), form.product.data, seats=form.seats.data,
            kind=form.kind.data, days=form.days.data, seat_mode=form.seat_mode.data)
    except REFUSALS as error:
        return _licenses_page(issue_form=form, refusal=refusal_text(error), status=error.status)
    license_id = license.id
    db.session.commit()
    flash(f"License {license_id} is issued.", "success")
    return redirect(url_for("console.admin_license", license_id=license_id))


def _license_page(license_id: str, code=None, refusal=None, status=200, **forms):
    license = license_record(admin_service().license(license_id))
    forms = {"renew_form": RenewLicenseForm(formdata=None, prefix="renew"),
             "status_form": lambda action: LicenseStatusForm(formdata=None, prefix=action),
             "code_form": IssueCodeForm(formdata=None, prefix="code"), **forms}
    return render_template("console/admin_license.html", title=f"License {license_id}",
                           license=license, code=code, refusal=refusal, **forms), status


@blp.route("/admin/licenses/<license_id>")
@staff_page("admin")
def admin_license(license_id: str):
    """One license as the admin API shows it, with renew, suspend, reinstate, revoke, codes."""
    return _license_page(license_id)


@blp.route("/admin/licenses/<license_id>/renew", methods=["POST"])
@staff_page("admin")
def renew_license(license_id: str):
    """Extend a license by some days (POST /v1/admin/licenses/{id}/renew)."""
    form = RenewLicenseForm(prefix="renew")
    if not form.validate_on_submit():
        return _license_page(license_id, status=400, renew_form=form)
    return _change_license(license_id, "renewed", lambda admin: admin.renew(license_id,
                                                                          form.days.data))


def _change_license(license_id: str, done: str, change):
    try:
        change(admin_service())
    except REFUSALS as error:
        return _license_page(license_id, refusal=refusal_text(error), status=error.status)
    db.session.commit()
    flash(f"License {license_id} is {done}.", "success")
    return redirect(url_for("console.admin_license", license_id=license_id))


def _status_change(license_id: str, action: str, done: str):
    if not LicenseStatusForm(prefix=action).validate_on_submit():
        return _license_page(license_id, refusal=f"Tick the box to {action} the license.",
                             status=400)
    return _change_license(license_id, done,
                           lambda admin: getattr(admin, action)(license_id))


@blp.route("/admin/licenses/<license_id>/suspend", methods=["POST"])
@staff_page("admin")
def suspend_license(license_id: str):
    """Suspend a license (POST /v1/admin/licenses/{id}/suspend)."""
    return _status_change(license_id, "suspend", "suspended")


@blp.route("/admin/licenses/<license_id>/reinstate", methods=["POST"])
@staff_page("admin")
def reinstate_license(license_id: str):
    """Make a suspended license active again (POST /v1/admin/licenses/{id}/reinstate)."""
    return _status_change(license_id, "reinstate", "reinstated")


@blp.route("/admin/licenses/<license_id>/revoke", methods=["POST"])
@staff_page("admin")
def revoke_license(license_id: str):
    """Revoke a license for good (POST /v1/admin/licenses/{id}/revoke)."""
    return _status_change(license_id, "revoke", "revoked")


@blp.route("/admin/licenses/<license_id>/codes", methods=["POST"])
@staff_page("admin")
def license_code(license_id: str):
    """A fresh single-use code (POST /v1/admin/licenses/{id}/codes), shown in this answer only."""
    form = IssueCodeForm(prefix="code")
    if not form.validate_on_submit():
        return _license_page(license_id, status=400, code_form=form)
    try:
        code, record = admin_service().issue_code(license_id, form.days.data)
    except REFUSALS as error:
        return _license_page(license_id, refusal=refusal_text(error), status=error.status)
    shown = {"code": code, "expires_at": rfc3339(record.expires_at)}
    db.session.commit()
    return _license_page(license_id, code=shown, status=201)


# -- staff ---------------------------------------------------------------------


def _staff_page(form=None, created=None, refusal=None, status=200):
    members = [staff_record(member) for member in admin_service().staff_members()]
    return render_template(
        "console/admin_staff.html", title="Staff", members=members, created=created,
        form=form or StaffForm(formdata=None), refusal=refusal,
        disable_form=lambda member: DisableStaffForm(formdata=None, prefix=f"staff{member['id']}")
    ), status


@blp.route("/admin/staff")
@staff_page("admin")
def admin_staff():
    """Every staff member, and the form to add one."""
    return _staff_page()


@blp.route("/admin/staff", methods=["POST"])
@staff_page("admin")
def create_staff():
    """Add a staff member (POST /v1/admin/staff); the API token is shown in this answer only."""
    form = StaffForm()
    if not form.validate_on_submit():
        return _staff_page(form, status=400)
    try:
        token, member = admin_service().create_staff(form.name.data, form.role.data,
                                                     form.password.data or None)
    except REFUSALS as error:
        return _staff_page(form, refusal=refusal_text(error), status=error.status)
    created = {**staff_record(member), "token": token}
    db.session.commit()
    return _staff_page(created=created, status=201)


@blp.route("/admin/staff/<int:staff_id>/disable", methods=["POST"])
@staff_page("admin")
def disable_staff(staff_id: int):
    """Disable a staff member (POST /v1/admin/staff/{id}/disable): tokens and sessions end."""
    if not DisableStaffForm(prefix=f"staff{staff_id}").validate_on_submit():
        return _staff_page(refusal="Tick the box to disable the staff member.", status=400)
    try:
        name = admin_service().disable_staff(staff_id).name
    except REFUSALS as error:
        return _staff_page(refusal=refusal_text(error), status=error.status)
    db.session.commit()
    flash(f"{name} is disabled: their tokens and console sessions have ended.", "success")
    return redirect(url_for("console.admin_staff"))


# -- recipients ----------------------------------------------------------------


def _recipients_page(form=None, refusal=None, status=200):
    recipients = disclosure_service().recipients()
    return render_template("console/admin_recipients.html", title="Disclosure recipients",
                           recipients=recipients, form=form or RecipientForm(formdata=None),
                           refusal=refusal), status


@blp.route("/admin/recipients")
@staff_page("admin")
def admin_recipients():
    """The registered recipients of disclosures, and the form to add one."""
    return _recipients_page()


@blp.route("/admin/recipients", methods=["POST"])
@staff_page("admin")
def add_recipient():
    """Register a recipient of disclosures (POST /v1/admin/recipients)."""
    form = RecipientForm()
    if not form.validate_on_submit():
        return _recipients_page(form, status=400)
    try:
        recipient = disclosure_service().add_recipient(
            form.name.data.strip(), form.category.data, form.endpoint.data.strip(),
            allow_plain_http())
    except REFUSALS as error:
        return _recipients_page(form, refusal_text(error), error.status)
    name = recipient.name
    db.session.commit()
    flash(f"Recipient {name} is registered.", "success")
    return redirect(url_for("console.admin_recipients"))
