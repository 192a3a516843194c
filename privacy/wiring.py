"""Build the privacy engine's collaborators from the app's config."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from flask import Flask, current_app

from core.database import db, truncate_sqlite_wal
from privacy.access_report import SubjectAccessService
from privacy.audit import AccessAuditService, Actor
from privacy.consents import ConsentService
from privacy.erasure import ErasureService, TombstoneFile
from privacy.geo import Locator, resolver_from_config
from privacy.logging import configure_logging
from privacy.models import AccessLogEntry
from privacy.notices import NoticeService
from privacy.objections import ObjectionService
from privacy.providers import ProviderRegistry
from privacy.pseudonym import Pseudonymizer
from privacy.purposes import PURPOSES, SUPPORT
from privacy.requests.completion import RequestCompletion
from privacy.requests.restriction import RestrictionService
from privacy.requests.service import SubjectRequestService
from privacy.retention import RetentionRule, RetentionService
from privacy.ropa import controller, record_of_processing
from privacy.vault import EXTENSION as VAULT_EXTENSION
from privacy.vault import Vault

EXTENSION = "tessera.privacy"

# The access log's own retention: the `support` purpose's twelve months.
ACCESS_LOG_RULE = RetentionRule(
    "access_log.expired", AccessLogEntry.__table__,
    lambda cutoff: AccessLogEntry.__table__.c.occurred_at < cutoff,
    purpose=SUPPORT, period="access_log", description="access-log entries")


@dataclass
class PrivacyComponents:
    """Process-wide collaborators of the privacy engine, built once per app."""

    pseudonymizer: Pseudonymizer
    vault: Vault
    locator: Locator
    tombstones: TombstoneFile
    providers: ProviderRegistry = field(default_factory=ProviderRegistry)
    # Staff authentication lives in the product; it hands privacy's views a function.
    authenticate: Callable[[tuple[str, ...]], Actor] | None = None


def init_app(app: Flask) -> PrivacyComponents:
    """Build the pseudonymizer, vault, locator, tombstone store and provider registry."""
    config = app.config
    tombstone_path = config.get("TESSERA_TOMBSTONE_PATH") or (
        Path(config["TESSERA_INSTANCE_DIR"]) / "tombstones.jsonl")
    parts = PrivacyComponents(
        pseudonymizer=Pseudonymizer(config["TESSERA_PSEUDONYM_KEYS"]),
        vault=Vault(config["TESSERA_VAULT_KEYS"]),
        locator=Locator(resolver_from_config(config)),
        tombstones=TombstoneFile(tombstone_path),
    )
    app.extensions[EXTENSION] = parts
    app.extensions[VAULT_EXTENSION] = parts.vault
    configure_logging(config["TESSERA_LOG_FORMAT"])
    return parts


def components() -> PrivacyComponents:
    """The running app's privacy collaborators."""
    return current_app.extensions[EXTENSION]


def audit_service() -> AccessAuditService:
    """The access audit on the request's session."""
    parts = components()
    return AccessAuditService(db.session, parts.pseudonymizer, parts.providers)


def subject_access_service() -> SubjectAccessService:
    """The subject-access report on the request's session."""
    return SubjectAccessService(db.session, components().providers, audit_service())


def erasure_service() -> ErasureService:
    """The erasure service on the request's session."""
    parts = components()
    return ErasureService(db.session, parts.providers, parts.pseudonymizer, parts.tombstones)


def retention_rules() -> list[RetentionRule]:
    """Every retention rule: the access log's, then each provider's."""
    return [ACCESS_LOG_RULE, *components().providers.retention_rules()]


def retention_service() -> RetentionService:
    """The purge job's service on the command's session."""
    return RetentionService(db.session, retention_rules(), PURPOSES)


def ropa_document() -> dict:
    """The record of processing of the running app."""
    return record_of_processing(PURPOSES, db.metadata, retention_rules(),
                                controller(current_app.config))


def consent_service() -> ConsentService:
    """Consents on the request's session, under the current privacy-policy version."""
    return ConsentService(db.session, current_app.config["TESSERA_PRIVACY_POLICY_VERSION"])


def notice_service() -> NoticeService:
    """Notices to subjects on the request's session."""
    return NoticeService(db.session)


def objection_service() -> ObjectionService:
    """Upheld objections on the request's session."""
    return ObjectionService(db.session)


def request_service() -> SubjectRequestService:
    """Data-subject requests on the request's session."""
    completion = RequestCompletion(db.session, components().providers, erasure_service(),
                                   notice_service(), objection_service())
    return SubjectRequestService(db.session, components().providers, completion,
                                 audit_service())


def commit_decision(decided) -> None:
    """Commit a request's decision; after an erasure, empty SQLite's write-ahead log too."""
    # Read before the commit: after it, the expired row would be loaded again, and the
    # session's new transaction would keep the checkpoint below from emptying the log.
    erasure = decided.type == "erasure"
    db.session.commit()
    if erasure:
        # The erased rows' old page images must not linger in a SQLite write-ahead log.
        truncate_sqlite_wal(db.engines.values())


def restriction_service() -> RestrictionService:
    """Lifting restrictions on the request's session."""
    return RestrictionService(db.session, components().providers, notice_service(),
                              audit_service())
