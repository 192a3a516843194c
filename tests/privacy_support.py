"""Helpers shared by the privacy tests: CLI calls, staff tokens, clocks, seeded rows."""

from __future__ import annotations

import json
import secrets
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

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


def scan(blobs: dict[str, bytes], canaries: list[str]) -> list[str]:
    """Where each canary (case-insensitively) occurs in BLOBS."""
    found = []
    for where, content in blobs.items():
        lowered = content.lower()
        found += [f"{canary!r} in {where}" for canary in canaries
                  if canary.lower().encode() in lowered]
    return found


def database_blobs(app, tmp_path: Path) -> dict[str, bytes]:
    """Both databases' bytes: SQLite files with their WAL, or a pg_dump of each."""
    blobs = {}
    urls = [app.config["SQLALCHEMY_DATABASE_URI"],
            app.config["SQLALCHEMY_BINDS"]["compliance"]["url"]]
    # Read with the pool's connections still open, as on a running server: closing the
    # last one would checkpoint and delete the WAL, hiding what it holds.
    for url in urls:
        if url.startswith("sqlite"):
            path = Path(urlsplit(url).path)
            for file in path.parent.glob(path.name + "*"):  # the database, -wal and -shm
                blobs[file.name] = file.read_bytes()
        else:
            dump = tmp_path / (urlsplit(url).path.strip("/") + ".sql")
            subprocess.run(["pg_dump", "--data-only", "-f", str(dump),
                            url.replace("postgresql+psycopg://", "postgresql://", 1)], check=True)
            blobs[dump.name] = dump.read_bytes()
    assert blobs
    return blobs
