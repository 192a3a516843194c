"""`flask admin ...`: products, accounts, licenses, codes and staff.

Each command is the twin of an admin API endpoint (licensing.admin.views):
both call AdminService and print the same ``*_record``.
"""

from __future__ import annotations

import secrets

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup

from core.cli import json_option, report, run
from core.database import db, rfc3339, utcnow
from licensing.accounts.models import Account
from licensing.admin.services import (AdminService, account_record, license_record,
                                      product_record, staff_record)
from licensing.catalog.models import License, Product
from licensing.support.models import STAFF_ROLES
from licensing.support.services import provisioning_uri
from licensing.support.wiring import admin_service, staff_service

admin = AppGroup("admin", help="Create products, accounts, licenses, codes and staff.")
DEMO_PRODUCT = "numflo"
DEMO_USERNAME = "demo"


@admin.command("create-product")
@click.argument("code")
@click.argument("name")
@json_option
def create_product(code, name, as_json):
    """Create a product CODE called NAME."""
    product = run(lambda: admin_service().create_product(code, name))
    report(as_json, product_record(product), f"product {product.code} created")


@admin.command("create-account")
@click.argument("username")
@click.option("--email", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Prompted for when not given (keeps it out of shell history).")
@click.option("--name")
@click.option("--country", help="ISO 3166-1 alpha-2 code")
@click.option("--company")
@json_option
def create_account(username, email, password, name, country, company, as_json):
    """Create a Customer Area account USERNAME."""
    account = run(lambda: admin_service().create_account(
        username, password, email, name=name, company=company, country=country))
    report(as_json, account_record(account),
           f"account {account.username} created ({account.id})")


@admin.command("issue-license")
@click.argument("account")
@click.argument("product")
@click.option("--seats", type=click.IntRange(min=1), required=True)
@click.option("--kind", type=click.Choice(["subscription", "perpetual", "trial"]),
              required=True)
@click.option("--days", type=click.IntRange(min=1), help="Term; perpetual licenses have none.")
@click.option("--entitlement", "entitlements", multiple=True)
@click.option("--lease-seconds", type=click.IntRange(min=60))
@click.option("--grace-seconds", type=click.IntRange(min=0))
@click.option("--offline-lease-seconds", type=click.IntRange(min=60))
@json_option
def issue_license(account, product, seats, kind, days, entitlements, lease_seconds,
                  grace_seconds, offline_lease_seconds, as_json):
    """Issue a license of PRODUCT to ACCOUNT (username or account id)."""
    license = run(lambda: admin_service().issue_license(
        account, product, seats=seats, kind=kind, days=days, entitlements=list(entitlements),
        lease_seconds=lease_seconds, grace_seconds=grace_seconds,
        offline_lease_seconds=offline_lease_seconds))
    report(as_json, license_record(license),
           f"license {license.id} issued: {seats} seat(s), {kind}")


def _license_command(name: str, action: str, help_text: str):
    @admin.command(name, help=help_text)
    @click.argument("license_id")
    @json_option
    def command(license_id, as_json):
        license = run(lambda: getattr(admin_service(), action)(license_id))
        report(as_json, license_record(license), f"license {license.id} is {license.status}")
    return command


_license_command("suspend", "suspend", "Suspend LICENSE_ID (activation and refresh refused).")
_license_command("reinstate", "reinstate", "Make the suspended LICENSE_ID active again.")
_license_command("revoke", "revoke", "Revoke LICENSE_ID for good.")


@admin.command("renew")
@click.argument("license_id")
@click.option("--days", type=click.IntRange(min=1), required=True)
@json_option
def renew(license_id, days, as_json):
    """Extend LICENSE_ID by DAYS from its end (or from now once it has ended)."""
    license = run(lambda: admin_service().renew(license_id, days))
    report(as_json, license_record(license),
           f"license {license.id} now ends {rfc3339(license.expires_at)}")


@admin.command("issue-code")
@click.argument("license_id")
@click.option("--days", type=click.IntRange(min=1), default=30, show_default=True)
@json_option
def issue_code(license_id, days, as_json):
    """Issue a single-use activation code for LICENSE_ID (shown once)."""
    code, record = run(lambda: admin_service().issue_code(license_id, days))
    report(as_json, {"code": code, "license": license_id,
                     "expires_at": rfc3339(record.expires_at)},
           f"activation code (shown once): {code}")


@admin.command("create-staff")
@click.argument("name")
@click.option("--role", type=click.Choice(STAFF_ROLES), required=True)
@json_option
def create_staff(name, role, as_json):
    """Create a staff member NAME with ROLE; prints the API bearer token once."""
    token, staff = run(lambda: admin_service().create_staff(name, role))
    report(as_json, {**staff_record(staff), "token": token},
           f"staff token for {name} (shown once): {token}")


@admin.command("disable-staff")
@click.argument("name")
@json_option
def disable_staff(name, as_json):
    """Disable staff member NAME: every token is revoked and console sessions end."""
    staff = run(lambda: admin_service().disable_staff(name))
    report(as_json, staff_record(staff), f"staff member {staff.name} disabled")


@admin.command("set-staff-password")
@click.argument("name")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Prompted for when not given (keeps it out of shell history).")
@click.option("--totp", is_flag=True,
              help="Also make a new TOTP secret and print its otpauth URI once.")
@json_option
def set_staff_password(name, password, totp, as_json):
    """Set the console password of staff member NAME (and, with --totp, a new TOTP secret)."""
    service = staff_service()
    staff = run(lambda: service.named(name))
    run(lambda: service.set_password(staff, password))
    secret = service.enable_totp(staff) if totp else None
    payload, message = staff_record(staff), f"password of {staff.name} set"
    if secret:
        uri = provisioning_uri(staff, secret, current_app.config["TESSERA_TOTP_ISSUER"])
        payload.update(totp_secret=secret, otpauth_uri=uri)
        message += f"; TOTP (shown once) secret {secret}\n{uri}"
    report(as_json, payload, message)


@admin.command("issue-staff-token")
@click.argument("name")
@json_option
def issue_staff_token(name, as_json):
    """Issue another API bearer token for staff member NAME (shown once)."""
    service = staff_service()
    token, record = run(lambda: service.issue_token(service.named(name)))
    report(as_json, {"id": record.id, "staff": record.staff_id, "token": token},
           f"staff token {record.id} for {name} (shown once): {token}")


@admin.command("revoke-staff-token")
@click.argument("name")
@click.argument("token_id", type=int)
@json_option
def revoke_staff_token(name, token_id, as_json):
    """Revoke API token TOKEN_ID of staff member NAME."""
    service = staff_service()
    record = run(lambda: service.revoke_token(service.named(name), token_id))
    report(as_json, {"id": record.id, "revoked_at": rfc3339(record.revoked_at)},
           f"staff token {record.id} revoked")


@admin.command("seed-demo")
@json_option
def seed_demo(as_json):
    """Make sure a demo product, account and 2-seat license exist; issue a fresh code."""
    service = admin_service()
    if db.session.scalar(sa.select(Product.id).where(Product.code == DEMO_PRODUCT)) is None:
        service.create_product(DEMO_PRODUCT, "NUMFLO CFD (demo)")
    if db.session.scalar(sa.select(Account.id).where(Account.username == DEMO_USERNAME)) is None:
        # Nobody signs in as the demo account: it is reached by activation codes only.
        service.create_account(DEMO_USERNAME, secrets.token_urlsafe(24), "demo@example.invalid")
    license = _demo_license(service)
    code, record = service.issue_code(license.id, days=1)
    report(as_json, {"product": DEMO_PRODUCT, "account": DEMO_USERNAME, "license": license.id,
                     "code": code, "expires_at": rfc3339(record.expires_at)},
           f"demo license {license.id}; activation code: {code}")


def _demo_license(service: AdminService) -> License:
    usable = db.session.scalars(
        sa.select(License).join(Account).join(Product)
        .where(Account.username == DEMO_USERNAME, Product.code == DEMO_PRODUCT,
               License.status == "active", License.expires_at > utcnow())
        .order_by(License.expires_at.desc())).first()
    return usable or service.issue_license(DEMO_USERNAME, DEMO_PRODUCT, seats=2,
                                           kind="subscription", days=365,
                                           entitlements=["solver", "mesher"])


def print_first_steps(app: Flask) -> None:
    """On an empty database, tell the operator how to create the first records."""
    with app.app_context():
        if db.session.scalar(sa.select(sa.func.count(Account.id))):
            return
    click.echo(
        "No accounts yet. Create a first product, account and license:\n"
        "  .venv/bin/flask --app wsgi admin create-product numflo 'NUMFLO CFD'\n"
        "  .venv/bin/flask --app wsgi admin create-account alice --email alice@example.com\n"
        "  .venv/bin/flask --app wsgi admin issue-license alice numflo --seats 2 "
        "--kind subscription --days 365 --entitlement solver --json", err=True)


@click.command("first-steps")
def first_steps():
    """Print how to create the first records when the database is empty."""
    print_first_steps(current_app)


def init_app(app: Flask) -> None:
    """Register the command groups."""
    app.cli.add_command(admin)
    app.cli.add_command(first_steps)
