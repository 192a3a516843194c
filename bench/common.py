"""What every part of the benchmark shares: paths, secrets, URLs, encodings."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from core.database import new_id  # noqa: F401  (the service's own ids, for seeding)
from core.encoding import b64url_encode as b64

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PRODUCT = "numflo"
ENTITLEMENTS = ["solver", "mesher"]
SEATS_PER_LICENSE = 10


def bench_secrets() -> dict[str, str]:
    """Fresh secrets for one run; they live only in the environment of its processes."""
    return {
        "TESSERA_SECRET_KEY": secrets.token_urlsafe(48),
        "TESSERA_PSEUDONYM_KEYS": f"1:{b64(secrets.token_bytes(32))}",
        "TESSERA_VAULT_KEYS": f"v1:{b64(secrets.token_bytes(32))}",
    }


def database_url(backend: str, name: str) -> str:
    """The SQLAlchemy URL of database NAME on BACKEND."""
    if backend == "postgresql":
        base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        return f"{base}/{name}"
    return f"sqlite:///{RESULTS / 'sqlite' / (name + '.sqlite3')}"


def psycopg_url(url: str) -> str:
    """A libpq URL for psycopg.connect from a SQLAlchemy one."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)
