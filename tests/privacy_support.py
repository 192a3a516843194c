"""Helpers shared by the privacy tests: CLI calls, staff tokens, clocks, seeded rows."""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta, timezone

from core.database import db
from licensing.admin.services import AdminService
from licensing.wiring import components


def invoke_json(runner, *args) -> dict:
    """Run a CLI command with --json; it must print exactly one JSON line on stdout."""
    result = runner.invoke(args=[*args, "--json"])
    assert result.exit_code == 0, (result.output, result.exception)
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    return json.loads(lines[0])


def staff_token(app, role: str, name: str = "Pat") -> str:
    """A bearer token for a new staff member with ROLE."""
    with app.app_context():
        parts = components()
        token, _ = AdminService(db.session, parts.pseudonymizer, parts.passwords).create_staff(
            name, role)
        db.session.commit()
        return token


def new_key() -> bytes:
    return secrets.token_bytes(32)


def days_ago(days: float, now: datetime | None = None) -> datetime:
    return (now or datetime.now(timezone.utc)) - timedelta(days=days)
