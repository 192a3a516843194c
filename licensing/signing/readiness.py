"""Readiness of an instance for the data it serves: does it hold every key the data needs?

Another instance restarted with a new vault or pseudonym key writes under it
at once; an instance without that key could not read those rows. Its
/readyz then answers 503, naming the missing key ids, so the load balancer
takes it out instead of it answering every such request with an error. The
instance also lists the key ids it holds (ids only, never key material), which
`flask keys rotate-vault --check-url` reads before it writes with a key.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, current_app
from sqlalchemy.exc import SQLAlchemyError

from core import health
from core.database import db
from licensing.signing.rotation import missing_keys
from privacy.wiring import components as privacy_components

log = logging.getLogger("tessera.ops")
_CACHE = "tessera.key_check"


def configured_keys() -> dict[str, list[str]]:
    """The ids of the vault and pseudonym keys this process holds."""
    parts = privacy_components()
    return {"vault": parts.vault.key_ids,
            "pseudonym": [str(v) for v in parts.pseudonymizer.versions]}


def key_checks() -> dict[str, str]:
    """"ok", or the missing key ids, per keyring; scanned once per TESSERA_KEY_CACHE_SECONDS."""
    cache = current_app.extensions.setdefault(_CACHE, {"at": None, "checks": None})
    now = time.monotonic()
    if cache["at"] is not None and (
            now - cache["at"] < current_app.config["TESSERA_KEY_CACHE_SECONDS"]):
        return cache["checks"]
    parts = privacy_components()
    try:
        missing = missing_keys(db.session, parts.vault, parts.pseudonymizer, db.metadata)
    except SQLAlchemyError as exc:
        log.warning("readiness: key check failed (%s)", type(exc).__name__)
        return {"vault_keys": "unavailable", "pseudonym_keys": "unavailable"}
    finally:
        db.session.rollback()
    checks = {f"{ring}_keys": "missing " + ", ".join(ids) if ids else "ok"
              for ring, ids in missing.items()}
    if any(missing.values()):
        log.warning("readiness: stored data needs keys this process lacks: %s", checks)
    cache.update(at=now, checks=checks)
    return checks


def init_app(app: Flask) -> None:
    """Add the key check and the key ids to /readyz."""
    health.register_readiness(app, key_checks, configured_keys)
