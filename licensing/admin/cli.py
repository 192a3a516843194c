"""`flask admin ...`: products, accounts, licenses, codes and staff; every command can answer in one JSON line."""

from __future__ import annotations

import secrets

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup

from core.cli import json_option, report, run
from core.database import db, rfc3339, utcnow
from licensing.accounts.models import Account
from licensing.activation import cli as seat_cli
from licensing.admin.services import AdminService
from licensing.catalog.models import FINGERPRINT_MATCHES, SEAT_MODES, License, Product
from licensing.wiring import components

admin = AppGroup("admin", help="Create products, accounts, licenses, codes and staff.")
DEMO_PRODUCT = "numflo"
DEMO_USERNAME = "demo"


def _admin() -> AdminService:
    parts = components()
    return AdminService(db.session, parts.pseudonymizer, parts.passwords)


@admin.command("create-product")
@click.argument("code")
@click.argument("name")
@click.option("--fingerprint-match", type=click.Choice(FINGERPRINT_MATCHES), default="exact",
              show_default=True, help="When a device with a new fingerprint keeps its seat "
                                      "by its components.")
@json_option
def create_product(code, name, fingerprint_match, as_json):
    """Create a product CODE called NAME."""
    product = run(lambda: _admin().create_product(code, name, fingerprint_match))
    report(as_json, {"id": product.id, "code": product.code, "name": product.name,
                     "fingerprint_match": product.fingerprint_match},
           f"product {product.code} created")


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
    account = run(lambda: _admin().create_account(
        username, password, email, name=name, company=company, country=country))
    report(as_json, {"id": account.id, "username": account.username},
           f"account {account.username} created ({account.id})")


@admin.command("issue-license")
@click.argument("username")
@click.argument("product")
@click.option("--seats", type=click.IntRange(min=1), required=True)
@click.option("--kind", type=click.Choice(["subscription", "perpetual", "trial"]),
              required=True)
@click.option("--days", type=click.IntRange(min=1), help="Term; perpetual licenses have none.")
@click.option("--entitlement", "entitlements", multiple=True)
@click.option("--seat-mode", type=click.Choice(SEAT_MODES), default="node_locked",
              show_default=True, help="floating: a seat is held only while its lease lives.")
@click.option("--lease-seconds", type=click.IntRange(min=30),
              help="Default 7 days; 900 for a floating license.")
@click.option("--max-borrow-seconds", type=click.IntRange(min=60),
              help="Longest borrowed lease of a floating seat (default 7 days).")
@click.option("--grace-seconds", type=click.IntRange(min=0))
@click.option("--offline-lease-seconds", type=click.IntRange(min=60))
@json_option
def issue_license(username, product, seats, kind, days, entitlements, seat_mode, lease_seconds,
                  max_borrow_seconds, grace_seconds, offline_lease_seconds, as_json):
    """Issue a license of PRODUCT to USERNAME."""
    license = run(lambda: _admin().issue_license(
        username, product, seats=seats, kind=kind, days=days, entitlements=list(entitlements),
        lease_seconds=lease_seconds, grace_seconds=grace_seconds,
        offline_lease_seconds=offline_lease_seconds, seat_mode=seat_mode,
        max_borrow_seconds=max_borrow_seconds))
    payload = {"id": license.id, "account": username, "product": product, "kind": license.kind,
               "seats": license.seats, "expires_at": rfc3339(license.expires_at),
               "entitlements": license.entitlements, "seat_mode": license.seat_mode,
               "lease_seconds": license.lease_seconds,
               "max_borrow_seconds": license.max_borrow_seconds}
    report(as_json, payload, f"license {license.id} issued: {seats} seat(s), {kind}")


@admin.command("issue-code")
@click.argument("license_id")
@click.option("--days", type=click.IntRange(min=1), default=30, show_default=True)
@json_option
def issue_code(license_id, days, as_json):
    """Issue a single-use activation code for LICENSE_ID (shown once)."""
    code, record = run(lambda: _admin().issue_code(license_id, days))
    report(as_json, {"code": code, "license": license_id,
                     "expires_at": rfc3339(record.expires_at)},
           f"activation code (shown once): {code}")


@admin.command("create-staff")
@click.argument("name")
@click.option("--role", type=click.Choice(["support", "compliance", "privacy", "admin"]),
              required=True)
@json_option
def create_staff(name, role, as_json):
    """Create a staff member NAME with ROLE; prints the bearer token once."""
    token, staff = run(lambda: _admin().create_staff(name, role))
    report(as_json, {"id": staff.id, "name": staff.name, "role": staff.role, "token": token},
           f"staff token for {name} (shown once): {token}")


@admin.command("seed-demo")
@json_option
def seed_demo(as_json):
    """Make sure a demo product, account and 2-seat license exist; issue a fresh code."""
    service = _admin()
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
    seat_cli.init_app(app)
    app.cli.add_command(admin)
    app.cli.add_command(first_steps)
