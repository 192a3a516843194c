"""The admin API: the HTTP twin of `flask admin`, over the same AdminService.

Every endpoint needs an admin staff token. Answers are the ``*_record``
functions the CLI prints.
"""

from __future__ import annotations

from flask_smorest import Blueprint

from core.database import db, rfc3339
from core.http import error_responses, json_body, load
from licensing.admin.schemas import (AccountInputSchema, AccountSchema, EmptySchema,
                                     LicenseInputSchema, LicenseSchema, NewStaffSchema,
                                     NewStaffTokenSchema, ProductInputSchema, ProductSchema,
                                     RenewInputSchema, StaffInputSchema, StaffSchema,
                                     StaffTokenSchema)
from licensing.admin.services import account_record, license_record, product_record, staff_record
from licensing.support.schemas import CodeInputSchema, CodeOutputSchema
from licensing.support.staff import require_role
from licensing.support.wiring import admin_service, staff_service

blp = Blueprint("admin", __name__, url_prefix="/v1/admin",
                description="Administration (bearer staff token, role admin).")

SECURITY = [{"staffToken": []}]
_WRITE_ERRORS = (400, 401, 403, 409, 413, 415, 503)


def _body(schema, *, optional: bool = False) -> dict:
    return load(schema(), json_body(optional=optional))


def _doc(schema, required: bool = True) -> dict:
    return {"security": SECURITY,
            "requestBody": {"required": required,
                            "content": {"application/json": {"schema": schema}}}}


@blp.route("/products", methods=["POST"])
@blp.doc(**_doc(ProductInputSchema))
@blp.response(201, ProductSchema)
@error_responses(blp, *_WRITE_ERRORS)
@require_role("admin")
def create_product():
    """Create a product (`flask admin create-product`)."""
    data = _body(ProductInputSchema)
    product = admin_service().create_product(data["code"], data["name"])
    answer = product_record(product)
    db.session.commit()
    return answer, 201


@blp.route("/accounts", methods=["POST"])
@blp.doc(**_doc(AccountInputSchema))
@blp.response(201, AccountSchema)
@error_responses(blp, *_WRITE_ERRORS)
@require_role("admin")
def create_account():
    """Create a Customer Area account (`flask admin create-account`)."""
    data = _body(AccountInputSchema)
    account = admin_service().create_account(
        data["username"], data.get("password"), data["email"], name=data.get("name"),
        company=data.get("company"), country=data.get("country"))
    answer = account_record(account)
    db.session.commit()
    return answer, 201


@blp.route("/licenses", methods=["POST"])
@blp.doc(**_doc(LicenseInputSchema))
@blp.response(201, LicenseSchema)
@error_responses(blp, 404, *_WRITE_ERRORS)
@require_role("admin")
def issue_license():
    """Issue a license to an account (`flask admin issue-license`)."""
    data = _body(LicenseInputSchema)
    license = admin_service().issue_license(
        data.pop("account"), data.pop("product"), seats=data.pop("seats"),
        kind=data.pop("kind"), **data)
    answer = license_record(license)
    db.session.commit()
    return answer, 201


@blp.route("/licenses/<license_id>/renew", methods=["POST"])
@blp.doc(**_doc(RenewInputSchema))
@blp.response(200, LicenseSchema)
@error_responses(blp, 404, *_WRITE_ERRORS)
@require_role("admin")
def renew(license_id: str):
    """Extend a license by `days` (`flask admin renew`)."""
    data = _body(RenewInputSchema)
    answer = license_record(admin_service().renew(license_id, data["days"]))
    db.session.commit()
    return answer


def _change_status(license_id: str, action: str) -> dict:
    _body(EmptySchema, optional=True)
    answer = license_record(getattr(admin_service(), action)(license_id))
    db.session.commit()
    return answer


@blp.route("/licenses/<license_id>/suspend", methods=["POST"])
@blp.doc(**_doc(EmptySchema, required=False))
@blp.response(200, LicenseSchema)
@error_responses(blp, 404, *_WRITE_ERRORS)
@require_role("admin")
def suspend(license_id: str):
    """Suspend a license (`flask admin suspend`): activation and refresh are refused."""
    return _change_status(license_id, "suspend")


@blp.route("/licenses/<license_id>/reinstate", methods=["POST"])
@blp.doc(**_doc(EmptySchema, required=False))
@blp.response(200, LicenseSchema)
@error_responses(blp, 404, *_WRITE_ERRORS)
@require_role("admin")
def reinstate(license_id: str):
    """Make a suspended license active again (`flask admin reinstate`)."""
    return _change_status(license_id, "reinstate")


@blp.route("/licenses/<license_id>/revoke", methods=["POST"])
@blp.doc(**_doc(EmptySchema, required=False))
@blp.response(200, LicenseSchema)
@error_responses(blp, 404, *_WRITE_ERRORS)
@require_role("admin")
def revoke(license_id: str):
    """Revoke a license for good (`flask admin revoke`)."""
    return _change_status(license_id, "revoke")


@blp.route("/licenses/<license_id>/codes", methods=["POST"])
@blp.doc(**_doc(CodeInputSchema, required=False))
@blp.response(201, CodeOutputSchema)
@error_responses(blp, 404, *_WRITE_ERRORS)
@require_role("admin")
def issue_code(license_id: str):
    """A fresh single-use activation code (`flask admin issue-code`), shown once."""
    data = _body(CodeInputSchema, optional=True)
    code, record = admin_service().issue_code(license_id, data.get("days", 30))
    answer = {"code": code, "expires_at": rfc3339(record.expires_at)}
    db.session.commit()
    return answer, 201


@blp.route("/staff", methods=["POST"])
@blp.doc(**_doc(StaffInputSchema))
@blp.response(201, NewStaffSchema)
@error_responses(blp, *_WRITE_ERRORS)
@require_role("admin")
def create_staff():
    """Create a staff member (`flask admin create-staff`); the token is shown once."""
    data = _body(StaffInputSchema)
    token, staff = admin_service().create_staff(data["name"], data["role"], data.get("password"))
    answer = {**staff_record(staff), "token": token}
    db.session.commit()
    return answer, 201


@blp.route("/staff/<int:staff_id>/disable", methods=["POST"])
@blp.doc(**_doc(EmptySchema, required=False))
@blp.response(200, StaffSchema)
@error_responses(blp, 404, *_WRITE_ERRORS)
@require_role("admin")
def disable_staff(staff_id: int):
    """Disable a staff member (`flask admin disable-staff`): tokens and sessions end."""
    _body(EmptySchema, optional=True)
    answer = staff_record(admin_service().disable_staff(staff_id))
    db.session.commit()
    return answer


@blp.route("/staff/<int:staff_id>/tokens", methods=["POST"])
@blp.doc(**_doc(EmptySchema, required=False))
@blp.response(201, NewStaffTokenSchema)
@error_responses(blp, 404, *_WRITE_ERRORS)
@require_role("admin")
def issue_staff_token(staff_id: int):
    """Another API token for a staff member (`flask admin issue-staff-token`), shown once."""
    _body(EmptySchema, optional=True)
    service = staff_service()
    token, record = service.issue_token(service.get(staff_id))
    answer = {"id": record.id, "staff": record.staff_id, "token": token}
    db.session.commit()
    return answer, 201


@blp.route("/staff/<int:staff_id>/tokens/<int:token_id>/revoke", methods=["POST"])
@blp.doc(**_doc(EmptySchema, required=False))
@blp.response(200, StaffTokenSchema)
@error_responses(blp, 404, *_WRITE_ERRORS)
@require_role("admin")
def revoke_staff_token(staff_id: int, token_id: int):
    """Revoke one API token of a staff member (`flask admin revoke-staff-token`)."""
    _body(EmptySchema, optional=True)
    service = staff_service()
    record = service.revoke_token(service.get(staff_id), token_id)
    answer = {"id": record.id, "revoked_at": rfc3339(record.revoked_at)}
    db.session.commit()
    return answer
