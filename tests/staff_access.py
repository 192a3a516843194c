"""Who may call which staff endpoint: one table, checked for every role.

Each row names an endpoint, the roles that may call it (admin may call
everything) and a request that succeeds for them. The authorisation-matrix
test calls every row as each role, as a disabled staff member and with no
token, and expects 2xx, 403 or 401 from the table. Add a row for every new
staff endpoint and every console page and action; each surface (the JSON
API, the console pages) has its caller in CALLERS. On the console a dead or
missing session is sent to the sign-in page instead of answering 401.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Callable

import sqlalchemy as sa
from pages_support import CLOSED_ENDPOINT, csrf_token

from core.database import db, utcnow
from licensing.activation.models import Seat
from licensing.compliance.signals import Signal
from licensing.compliance.signals import record as record_signal
from licensing.compliance.wiring import disclosure_service
from licensing.support.wiring import admin_service, console_session_service, staff_service
from licensing.web.console import SESSION_STAFF
from licensing.wiring import components
from privacy import pseudonym as domains
from privacy.audit import Actor
from privacy.legal.models import LegalRecord
from privacy.providers import ACCOUNT
from privacy.wiring import request_service

ROLES = ("support", "compliance", "privacy", "admin")
DISABLED = "disabled"
ANONYMOUS = "none"
PRINCIPALS = (*ROLES, DISABLED, ANONYMOUS)
ADMIN_ONLY = frozenset({"admin"})
SUPPORT = frozenset({"support"})
PRIVACY = frozenset({"privacy"})
COMPLIANCE = frozenset({"compliance"})
EVERY_ROLE = frozenset(ROLES)
REASON = "TICKET-4711"


@dataclass(frozen=True)
class StaffEndpoint:
    """One staff endpoint: who may call it and a request that succeeds for them.

    Strings in PATH, QUERY, JSON and FORM (its keys too) may name the fixtures
    of StaffWorld.ids, as ``{license}``; they are filled in per test. A console
    row posts FORM with a valid CSRF token.
    """

    method: str
    path: str
    roles: frozenset[str]
    json: dict | None = None
    query: dict = field(default_factory=dict)
    reason: bool = True
    ok: int = 200
    surface: str = "api"
    form: dict | None = None

    def allows(self, principal: str) -> bool:
        return principal == "admin" or principal in self.roles

    def expected(self, principal: str) -> int:
        """The status PRINCIPAL gets: 401 without a live token, 403 without the role."""
        if principal in (DISABLED, ANONYMOUS):
            return 401
        return self.ok if self.allows(principal) else 403

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


STAFF_ENDPOINTS: list[StaffEndpoint] = [
    # Support
    StaffEndpoint("GET", "/v1/support/accounts", SUPPORT, query={"username": "{username}"}),
    StaffEndpoint("GET", "/v1/support/accounts", SUPPORT, query={"email": "{email}"}),
    StaffEndpoint("GET", "/v1/support/licenses/{license}", SUPPORT),
    StaffEndpoint("GET", "/v1/support/devices", SUPPORT,
                  query={"product": "numflo", "fingerprint": "{fingerprint}"}),
    StaffEndpoint("POST", "/v1/support/activations/{activation}/release", SUPPORT),
    StaffEndpoint("POST", "/v1/support/licenses/{license}/codes", SUPPORT, json={"days": 7},
                  ok=201),
    # Privacy
    StaffEndpoint("GET", "/v1/privacy/ropa", PRIVACY, reason=False),
    StaffEndpoint("GET", "/v1/privacy/access-log", PRIVACY, query={"subject": "{username}"}),
    StaffEndpoint("GET", "/v1/privacy/requests", PRIVACY, reason=False),
    StaffEndpoint("POST", "/v1/privacy/requests", PRIVACY, ok=201,
                  json={"account": "{account}", "type": "erasure", "channel": "email"}),
    StaffEndpoint("POST", "/v1/privacy/requests/{restriction_request}/complete", PRIVACY,
                  json={}),
    StaffEndpoint("POST", "/v1/privacy/requests/{objection_request}/extend", PRIVACY,
                  json={"months": 1, "reason": "needs a second look"}),
    StaffEndpoint("POST", "/v1/privacy/requests/{rectification_request}/reject", PRIVACY,
                  json={"reason": "the name is right"}),
    StaffEndpoint("POST", "/v1/privacy/accounts/{restricted_account}/lift-restriction", PRIVACY,
                  json={}),
    # Admin
    StaffEndpoint("POST", "/v1/admin/recipients", ADMIN_ONLY, reason=False, ok=201,
                  json={"name": "BSA", "category": "anti_piracy_org",
                        "endpoint": "https://reports.example.org/tessera"}),
    StaffEndpoint("POST", "/v1/admin/products", ADMIN_ONLY, json={"code": "p2", "name": "P2"},
                  reason=False, ok=201),
    StaffEndpoint("POST", "/v1/admin/accounts", ADMIN_ONLY, reason=False, ok=201,
                  json={"username": "newcomer", "email": "newcomer@example.com"}),
    StaffEndpoint("POST", "/v1/admin/licenses", ADMIN_ONLY, reason=False, ok=201,
                  json={"account": "{account}", "product": "numflo", "kind": "trial",
                        "seats": 1}),
    StaffEndpoint("POST", "/v1/admin/licenses/{license}/renew", ADMIN_ONLY, json={"days": 30},
                  reason=False),
    StaffEndpoint("POST", "/v1/admin/licenses/{license}/suspend", ADMIN_ONLY, reason=False),
    StaffEndpoint("POST", "/v1/admin/licenses/{license}/reinstate", ADMIN_ONLY, reason=False),
    StaffEndpoint("POST", "/v1/admin/licenses/{license}/revoke", ADMIN_ONLY, reason=False),
    StaffEndpoint("POST", "/v1/admin/licenses/{license}/codes", ADMIN_ONLY, json={},
                  reason=False, ok=201),
    StaffEndpoint("POST", "/v1/admin/staff", ADMIN_ONLY, reason=False, ok=201,
                  json={"name": "New Colleague", "role": "support"}),
    StaffEndpoint("POST", "/v1/admin/staff/{spare_staff}/disable", ADMIN_ONLY, reason=False),
    StaffEndpoint("POST", "/v1/admin/staff/{spare_staff}/tokens", ADMIN_ONLY, reason=False,
                  ok=201),
    StaffEndpoint("POST", "/v1/admin/staff/{spare_staff}/tokens/{spare_token}/revoke",
                  ADMIN_ONLY, reason=False),
    # Compliance
    StaffEndpoint("GET", "/v1/compliance/records", COMPLIANCE, reason=False),
    StaffEndpoint("GET", "/v1/compliance/records", COMPLIANCE, reason=False,
                  query={"tag": "anti_piracy", "kind": "foreign_key_refresh", "status": "open"}),
    StaffEndpoint("POST", "/v1/compliance/records/{record}/hold", COMPLIANCE, reason=False,
                  json={"hold": True, "reason": "LEGAL-1 pending suit"}),
    StaffEndpoint("POST", "/v1/compliance/records/{record}/close", COMPLIANCE, reason=False,
                  json={"reason": "LEGAL-2 settled"}),
    StaffEndpoint("GET", "/v1/compliance/disclosures", COMPLIANCE, reason=False),
    StaffEndpoint("POST", "/v1/compliance/disclosures", COMPLIANCE, reason=False, ok=201,
                  json={"records": ["{record}"], "recipient": "{recipient}"}),
    StaffEndpoint("POST", "/v1/compliance/disclosures/{awaiting_disclosure}/approve",
                  COMPLIANCE, reason=False),
]


def page(method: str, path: str, roles: frozenset[str], form: dict | None = None,
         ok: int | None = None) -> StaffEndpoint:
    """A console page (GET) or action (POST): a successful action redirects unless OK says."""
    if ok is None:
        ok = 200 if method == "GET" else 302
    return StaffEndpoint(method, path, roles, reason=False, ok=ok, surface="console",
                         form=form if method == "POST" else None)


_COMPLETE = {"complete-reason": REASON, "complete-confirm": "y"}
_EXTEND = {"extend-months": "1", "extend-subject_reason": "needs a second look",
           "extend-reason": REASON}
_REJECT = {"reject-subject_reason": "the name is right", "reject-reason": REASON,
           "reject-confirm": "y"}

STAFF_ENDPOINTS += [
    page("GET", "/console/", EVERY_ROLE),
    # Support
    page("GET", "/console/search", SUPPORT),
    page("POST", "/console/search", SUPPORT, {"by": "username", "query": "{username}",
                                              "reason": REASON}, ok=200),
    page("POST", "/console/devices", SUPPORT,
         {"device-product": "numflo", "device-fingerprint": "{fingerprint}",
          "device-reason": REASON}, ok=200),
    page("GET", "/console/licenses/{license}", SUPPORT),
    page("POST", "/console/licenses/{license}", SUPPORT, {"reason": REASON}),
    page("POST", "/console/licenses/{license}/activations/{activation}/release", SUPPORT,
         {"{activation}-reason": REASON, "{activation}-confirm": "y"}),
    page("POST", "/console/licenses/{license}/codes", SUPPORT, {"days": "7", "reason": REASON},
         ok=201),
    # Privacy
    page("GET", "/console/privacy/ropa", PRIVACY),
    page("GET", "/console/privacy/access-log", PRIVACY),
    page("POST", "/console/privacy/access-log", PRIVACY,
         {"subject": "{username}", "reason": REASON}, ok=200),
    page("GET", "/console/privacy/requests", PRIVACY),
    page("GET", "/console/privacy/requests/{restriction_request}", PRIVACY),
    page("POST", "/console/privacy/requests/{restriction_request}/complete", PRIVACY, _COMPLETE),
    page("POST", "/console/privacy/requests/{objection_request}/extend", PRIVACY, _EXTEND),
    page("POST", "/console/privacy/requests/{rectification_request}/reject", PRIVACY, _REJECT),
    # Compliance
    page("GET", "/console/compliance/records", COMPLIANCE),
    page("POST", "/console/compliance/records/{record}/hold", COMPLIANCE,
         {"hold-{record}-hold": "yes", "hold-{record}-reason": "LEGAL-1 pending suit"}),
    page("POST", "/console/compliance/records/{record}/close", COMPLIANCE,
         {"close-{record}-reason": "LEGAL-2 settled", "close-{record}-confirm": "y"}),
    page("GET", "/console/compliance/disclosures", COMPLIANCE),
    page("POST", "/console/compliance/disclosures", COMPLIANCE,
         {"records": "{record}", "recipient": "{recipient}"}),
    page("POST", "/console/compliance/disclosures/{awaiting_disclosure}/approve", COMPLIANCE,
         {"{awaiting_disclosure}-confirm": "y"}),
    # Admin
    page("GET", "/console/admin/products", ADMIN_ONLY),
    page("POST", "/console/admin/products", ADMIN_ONLY,
         {"code": "p2", "name": "P2", "fingerprint_match": "exact"}),
    page("GET", "/console/admin/licenses", ADMIN_ONLY),
    page("POST", "/console/admin/licenses", ADMIN_ONLY,
         {"account": "{account}", "product": "numflo", "kind": "trial", "seats": "1",
          "seat_mode": "node_locked"}),
    page("POST", "/console/admin/licenses/find", ADMIN_ONLY, {"reference": "{username}"}, ok=200),
    page("GET", "/console/admin/licenses/{license}", ADMIN_ONLY),
    page("POST", "/console/admin/licenses/{license}/renew", ADMIN_ONLY, {"renew-days": "30"}),
    page("POST", "/console/admin/licenses/{license}/suspend", ADMIN_ONLY,
         {"suspend-confirm": "y"}),
    page("POST", "/console/admin/licenses/{license}/reinstate", ADMIN_ONLY,
         {"reinstate-confirm": "y"}),
    page("POST", "/console/admin/licenses/{license}/revoke", ADMIN_ONLY, {"revoke-confirm": "y"}),
    page("POST", "/console/admin/licenses/{license}/codes", ADMIN_ONLY, {"code-days": "7"},
         ok=201),
    page("GET", "/console/admin/staff", ADMIN_ONLY),
    page("POST", "/console/admin/staff", ADMIN_ONLY, {"name": "New Colleague", "role": "support"},
         ok=201),
    page("POST", "/console/admin/staff/{spare_staff}/disable", ADMIN_ONLY,
         {"staff{spare_staff}-confirm": "y"}),
    page("GET", "/console/admin/recipients", ADMIN_ONLY),
    page("POST", "/console/admin/recipients", ADMIN_ONLY,
         {"name": "BSA", "category": "anti_piracy_org",
          "endpoint": "https://reports.example.org/tessera"}),
]


class StaffWorld:
    """A product, an account with a license and an active seat, and one staff member per role
    with an API token and a console session."""

    def __init__(self, app):
        self.app = app
        self.tokens: dict[str, str] = {}
        self.sessions: dict[str, str] = {}
        self.ids: dict[str, str] = {}

    def build(self, compliance: bool = False) -> StaffWorld:
        """The world; with COMPLIANCE also a record, recipients and a disclosure awaiting
        approval (whose creation writes to the access log)."""
        with self.app.app_context():
            admin = admin_service()
            admin.create_product("numflo", "NUMFLO")
            account = admin.create_account("alice", None, "alice@example.com", name="Alice")
            license = admin.issue_license(account.id, "numflo", seats=2, kind="subscription")
            fingerprint = "fp-" + secrets.token_hex(16)
            seat = self._seat(license.id, fingerprint)
            sessions = console_session_service()
            for role in ROLES:
                self.tokens[role], member = admin.create_staff(f"{role} person", role)
                self.sessions[role], _ = sessions.open(member)
            disabled_token, disabled = admin.create_staff("gone person", "admin")
            self.sessions[DISABLED], _ = sessions.open(disabled)
            staff_service().disable(disabled)
            self.tokens[DISABLED] = disabled_token
            _, spare = admin.create_staff("spare person", "support")
            spare_token = staff_service().tokens(spare)[0]
            self.ids = {"username": "alice", "email": "alice@example.com", "account": account.id,
                        "license": license.id, "activation": seat.id, "fingerprint": fingerprint,
                        "spare_staff": str(spare.id), "spare_token": str(spare_token.id)}
            self.ids.update(self._requests(account.id))
            restricted = admin.create_account("bob", None, "bob@example.com")
            restricted.restricted_at = utcnow()
            self.ids["restricted_account"] = restricted.id
            db.session.commit()
            if compliance:
                self.ids.update(self._compliance(self.ids["license"]))
                db.session.commit()
        return self

    @staticmethod
    def _compliance(license_id: str) -> dict[str, str]:
        """A record, an anti-piracy and a police recipient, a disclosure awaiting approval."""
        record_signal(Signal("foreign_key_refresh", license_id=license_id, country="DE"))
        record_id = db.session.scalar(sa.select(LegalRecord.id))
        service = disclosure_service()
        recipient = service.add_recipient("Anti-piracy", "anti_piracy_org", CLOSED_ENDPOINT, True)
        police = service.add_recipient("Police", "law_enforcement", CLOSED_ENDPOINT, True)
        _, creator = admin_service().create_staff("first officer", "compliance")
        awaiting = service.create(Actor(id=f"staff:{creator.id}", role="compliance"),
                                  [record_id], police.id, "ORDER-1", True)
        return {"record": record_id, "recipient": recipient.id,
                "awaiting_disclosure": awaiting.id}

    @staticmethod
    def _requests(account_id: str) -> dict[str, str]:
        """One open data-subject request per kind an officer decides on."""
        service = request_service()
        return {f"{kind}_request": service.file(ACCOUNT, account_id, kind, details).id
                for kind, details in (("restriction", None), ("objection", None),
                                      ("rectification", {"name": "Alicia"}))}

    @staticmethod
    def _seat(license_id: str, fingerprint: str) -> Seat:
        pseudonym = components().pseudonymizer.pseudonym(domains.DEVICE, fingerprint)
        seat = Seat(license_id=license_id, device_pseudonym=pseudonym.value,
                    device_key_version=pseudonym.key_version, device_jkt="j" * 43,
                    device_public_key="k" * 43, device_name="Alice's laptop", platform="linux",
                    country="BE", ip_prefix="81.2.69.0/24")
        db.session.add(seat)
        db.session.flush()
        return seat

    def fill(self, value):
        """VALUE with every ``{fixture}`` in its strings filled in."""
        if isinstance(value, str):
            return value.format(**self.ids)
        if isinstance(value, dict):
            return {self.fill(key): self.fill(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.fill(item) for item in value]
        return value


def call_api(client, world: StaffWorld, endpoint: StaffEndpoint, principal: str):
    """Call ENDPOINT through the JSON API as PRINCIPAL (a role, disabled, or none)."""
    headers = {}
    if principal != ANONYMOUS:
        headers["Authorization"] = f"Bearer {world.tokens[principal]}"
    if endpoint.reason:
        headers["X-Access-Reason"] = REASON
    return client.open(world.fill(endpoint.path), method=endpoint.method,
                       query_string=world.fill(endpoint.query), headers=headers,
                       json=world.fill(endpoint.json) if endpoint.json is not None else None)


def call_console(client, world: StaffWorld, endpoint: StaffEndpoint, principal: str):
    """Open ENDPOINT's console page as PRINCIPAL's console session (a POST with its CSRF token)."""
    with client.session_transaction() as cookie:
        cookie.clear()
        if principal != ANONYMOUS:
            cookie[SESSION_STAFF] = world.sessions[principal]
    data = None
    if endpoint.method == "POST":
        # The sign-in page shows a form to anyone: its token is the session's.
        token = csrf_token(client.get("/console/sign-in").get_data(as_text=True))
        data = {"csrf_token": token, **world.fill(endpoint.form or {})}
    return client.open(world.fill(endpoint.path), method=endpoint.method,
                       query_string=world.fill(endpoint.query), data=data)


CALLERS: dict[str, Callable] = {"api": call_api, "console": call_console}
