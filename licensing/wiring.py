"""Build services from the running app: one place that knows the collaborators."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

import sqlalchemy as sa
from flask import Flask, current_app

from core.database import db, ping_when_idle, utcnow
from core.ratelimit import RateLimitService
from core.ratelimit import init_app as init_rate_limits
from licensing.accounts.passwords import PasswordService
from licensing.activation.borrowing import BorrowService
from licensing.activation.replay import DatabaseReplayCache, RedisReplayCache, ReplayGuard
from licensing.activation.services import ActivationService
from licensing.signing.leases import KeyService, Signer, SignerCache
from privacy.pseudonym import Pseudonymizer
from privacy.wiring import EXTENSION as PRIVACY_EXTENSION

EXTENSION = "tessera"


@dataclass
class Components:
    """Process-wide collaborators, built once per app."""

    pseudonymizer: Pseudonymizer
    passwords: PasswordService
    signers: SignerCache
    redis: object | None
    rate_limits: RateLimitService
    # The default database's pool in autocommit mode, for the one-statement refresh
    # (PostgreSQL only; None elsewhere).
    autocommit: sa.Engine | None = None
    # Export screening and detection thresholds (licensing.compliance.wiring).
    compliance: object | None = None
    # What seats and leases take as now; replaceable so that leases can lapse in a test.
    clock: Callable[[], datetime] = utcnow


def init_app(app: Flask) -> Components:
    """Build the app's collaborators from its config."""
    redis_client = None
    if app.config.get("TESSERA_REDIS_URL"):
        import redis

        redis_client = redis.Redis.from_url(app.config["TESSERA_REDIS_URL"],
                                            socket_timeout=2, socket_connect_timeout=2)
    components = Components(
        pseudonymizer=app.extensions[PRIVACY_EXTENSION].pseudonymizer,
        passwords=PasswordService(**app.config["TESSERA_PASSWORD_HASH"]),
        signers=SignerCache(app.config["TESSERA_KEY_CACHE_SECONDS"]),
        redis=redis_client,
        rate_limits=init_rate_limits(app),
    )
    app.extensions[EXTENSION] = components
    idle_seconds = app.config.get("TESSERA_POOL_PING_IDLE_SECONDS", 1.0)
    with app.app_context():
        for engine in db.engines.values():
            ping_when_idle(engine, idle_seconds)
        if db.engine.dialect.name == "postgresql":
            components.autocommit = db.engine.execution_options(isolation_level="AUTOCOMMIT")
    return components


def components() -> Components:
    """The running app's collaborators."""
    return current_app.extensions[EXTENSION]


def key_service() -> KeyService:
    """Signing keys on the request's session."""
    return KeyService(db.session)


def current_signer():
    """The signer of the running process (cached)."""
    return components().signers.get(key_service())


def activation_service(signer: Signer | None = None) -> ActivationService:
    """The activation service on the request's session (signing with SIGNER if given)."""
    parts = components()
    return ActivationService(db.session, parts.pseudonymizer, parts.passwords,
                             current_signer if signer is None else lambda: signer,
                             current_app.config["TESSERA_ISSUER"], compliance=parts.compliance,
                             clock=parts.clock)


def borrow_service() -> BorrowService:
    """Borrowed leases for floating seats, on the request's session."""
    return BorrowService(db.session, current_signer, current_app.config["TESSERA_ISSUER"],
                         clock=components().clock)


def rate_limits() -> RateLimitService:
    """The process's attempt limits."""
    return components().rate_limits


def replay_guard() -> ReplayGuard:
    """The replay guard over Redis when configured, else over the database."""
    client = components().redis
    return ReplayGuard(RedisReplayCache(client) if client is not None
                       else DatabaseReplayCache(db.session))
