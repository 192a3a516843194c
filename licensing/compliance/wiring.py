"""Build the compliance collaborators: checks, the disclosure service, the outbox delivery."""

from __future__ import annotations

import logging

import jwt
import requests
import sqlalchemy as sa
from flask import Flask, current_app
from prometheus_client.core import GaugeMetricFamily

from core.database import db
from core.metrics import gauge_source
from licensing.accounts.models import Account
from licensing.compliance import signals
from licensing.compliance.checks import checks_from_config
from licensing.compliance.screening import provider_from_config
from licensing.wiring import EXTENSION, current_signer
from privacy.legal import provider as legal_provider
from privacy.legal.delivery import OutboxDelivery
from privacy.legal.disclosures import DisclosureService
from privacy.legal.models import Disclosure, LegalRecord
from privacy.providers import ACCOUNT
from privacy.wiring import EXTENSION as PRIVACY_EXTENSION
from privacy.wiring import audit_service

log = logging.getLogger("tessera.compliance")

HTTP_EXTENSION = "tessera.compliance.http"
DISCLOSURE_TYPE = "disclosure+jwt"


def init_app(app: Flask) -> None:
    """Attach the checks to the activation service's collaborators; register the provider."""
    checks = checks_from_config(app.config, provider_from_config(app.config))
    app.extensions[EXTENSION].compliance = checks
    app.extensions[HTTP_EXTENSION] = requests.Session()
    privacy_parts = app.extensions[PRIVACY_EXTENSION]
    legal_provider.register(privacy_parts.providers, privacy_parts.pseudonymizer)
    signals.init_app(app)


def sign_disclosure(claims: dict) -> str:
    """A compact JWS of CLAIMS under the current lease key (verifiable with /v1/keys)."""
    signer = current_signer()
    return jwt.encode(claims, signer.private_key, algorithm="EdDSA",
                      headers={"kid": signer.kid, "typ": DISCLOSURE_TYPE})


def identify(subject_kind: str, subject_id: str) -> dict | None:
    """Username and email of a live account, for an approved re-identification only."""
    if subject_kind != ACCOUNT:
        return None
    account = db.session.get(Account, subject_id)
    if account is None or account.erased_at is not None:
        return None
    return {"username": account.username, "email": account.email}


def disclosure_service() -> DisclosureService:
    """The disclosure service on the request's session."""
    return DisclosureService(db.session, audit_service(), sign_disclosure, identify,
                             current_app.config["TESSERA_ISSUER"])


def outbox_delivery() -> OutboxDelivery:
    """The outbox delivery on the request's session."""
    config = current_app.config
    return OutboxDelivery(db.session, current_app.extensions[HTTP_EXTENSION],
                          timeout=config["TESSERA_DISCLOSURE_TIMEOUT"],
                          max_attempts=config["TESSERA_DISCLOSURE_MAX_ATTEMPTS"],
                          backoff_seconds=config["TESSERA_DISCLOSURE_BACKOFF_SECONDS"])


def allow_plain_http() -> bool:
    """Recipients must use https:// in production; the embedded default also takes http://."""
    return current_app.config["TESSERA_ENV"] != "production"


def deliver(everything: bool = False, only: str | None = None) -> list:
    """Run the outbox, committing each claim before its POST and each outcome after it."""
    results = []
    for step in outbox_delivery().run(everything, only):
        db.session.commit()
        if step is not None:
            results.append(step)
    db.session.commit()
    return results


def try_delivery(disclosure_id: str) -> None:
    """Try to deliver a committed disclosure now; on failure it stays pending in the outbox."""
    # A failed attempt here only leaves it for `flask compliance deliver`.
    try:
        deliver(only=disclosure_id)
    except Exception as exc:
        db.session.rollback()
        log.warning("immediate delivery of a disclosure failed (%s); left pending",
                    type(exc).__name__)


def _counts(column) -> list[tuple[str, int]]:
    return list(db.session.execute(sa.select(column, sa.func.count()).group_by(column)))


def compliance_gauges():
    """Records by kind and disclosures by status, read from the databases at scrape time."""
    records = GaugeMetricFamily("tessera_compliance_records_total",
                                "Compliance records held, by kind.", labels=["kind"])
    disclosures = GaugeMetricFamily("tessera_disclosures", "Disclosures, by status.",
                                    labels=["status"])
    try:
        for kind, count in _counts(LegalRecord.kind):
            records.add_metric([kind], count)
        for status, count in _counts(Disclosure.status):
            disclosures.add_metric([status], count)
    finally:
        db.session.rollback()
    yield records
    yield disclosures


gauge_source(compliance_gauges)
