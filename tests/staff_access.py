"""Who may call which staff endpoint: one table, checked for every role.

Each row names an endpoint, the roles that may call it (admin may call
everything) and a request that succeeds for them. The authorisation-matrix
test calls every row as each role, as a disabled staff member and with no
token, and expects 2xx, 403 or 401 from the table. Add a row for every new
staff endpoint; a surface other than the JSON API (the console pages) adds
its caller to CALLERS.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Callable

from core.database import db, utcnow
from licensing.activation.models import Seat
from licensing.support.wiring import admin_service, staff_service
from licensing.wiring import components
from privacy import pseudonym as domains
from privacy.providers import ACCOUNT
from privacy.wiring import request_service

ROLES = ("support", "compliance", "privacy", "admin")
DISABLED = "disabled"
ANONYMOUS = "none"
PRINCIPALS = (*ROLES, DISABLED, ANONYMOUS)
ADMIN_ONLY = frozenset({"admin"})
SUPPORT = frozenset({"support"})
PRIVACY = frozenset({"privacy"})


@dataclass(frozen=True)
class StaffEndpoint:
    """One staff endpoint: who may call it and a request that succeeds for them.

    Strings in PATH, QUERY and JSON may name the fixtures of StaffWorld.ids,
    as ``{license}``; they are filled in per test.
    """

    method: str
    path: str
    roles: frozenset[str]
    json: dict | None = None
    query: dict = field(default_factory=dict)
    reason: bool = True
    ok: int = 200
    surface: str = "api"

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
]


class StaffWorld:
    """A product, an account with a license and an active seat, and one staff member per role."""

    def __init__(self, app):
        self.app = app
        self.tokens: dict[str, str] = {}
        self.ids: dict[str, str] = {}

    def build(self) -> StaffWorld:
        with self.app.app_context():
            admin = admin_service()
            admin.create_product("numflo", "NUMFLO")
            account = admin.create_account("alice", None, "alice@example.com", name="Alice")
            license = admin.issue_license(account.id, "numflo", seats=2, kind="subscription")
            fingerprint = "fp-" + secrets.token_hex(16)
            seat = self._seat(license.id, fingerprint)
            for role in ROLES:
                self.tokens[role], _ = admin.create_staff(f"{role} person", role)
            disabled_token, disabled = admin.create_staff("gone person", "admin")
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
        return self

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
            return {key: self.fill(item) for key, item in value.items()}
        return value


def call_api(client, world: StaffWorld, endpoint: StaffEndpoint, principal: str):
    """Call ENDPOINT through the JSON API as PRINCIPAL (a role, disabled, or none)."""
    headers = {}
    if principal != ANONYMOUS:
        headers["Authorization"] = f"Bearer {world.tokens[principal]}"
    if endpoint.reason:
        headers["X-Access-Reason"] = "TICKET-4711"
    return client.open(world.fill(endpoint.path), method=endpoint.method,
                       query_string=world.fill(endpoint.query), headers=headers,
                       json=world.fill(endpoint.json) if endpoint.json is not None else None)


CALLERS: dict[str, Callable] = {"api": call_api}
