"""GET /v1/me/data for an account with 10,000 seats, through gunicorn.

`measure_export(env, say)` migrates the databases ENV names (creating them on
PostgreSQL when missing), seeds one account with 10,000 seats in bulk with
bench.seed's Seeder (1,000 licenses of 10 seats, each seat with an encrypted
device name, as real activations leave them), starts Tessera under gunicorn
with config/gunicorn.conf.py, signs in through POST /v1/session and times the
export: the median of five requests after two warm-up requests (one per
worker, most likely), with the min–max. Afterwards it deletes what it seeded
and drops the databases it created, so it can run against the benchmark's
own databases.

Run alone: .venv/bin/python -m bench.export [postgresql|sqlite]
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import statistics
import sys
import time
import urllib.request
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from bench import seed
from bench.common import PRODUCT, RESULTS, SEATS_PER_LICENSE, bench_secrets, psycopg_url
from bench.servers import Server, flask, running, service_env

SEATS = 10_000
TARGET_SECONDS = 2.0
REPETITIONS = 5
WARM_UPS = 2
TIMEOUT = 60


def _settings(env: dict) -> dict:
    from config.settings import load_config

    return load_config(environ=env)


def _dialect(url: str) -> str:
    return "postgresql" if url.startswith("postgresql") else "sqlite"


def _sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def _ensure_databases(urls: list[str]) -> list[str]:
    """Create the databases of URLS that do not exist yet; return those created."""
    created = []
    for url in urls:
        if _dialect(url) != "postgresql":
            path = _sqlite_path(url)
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                created.append(url)  # `db upgrade` makes the file
            continue
        parts = urlsplit(psycopg_url(url))
        name = parts.path.lstrip("/")
        admin = urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as connection:
            if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                  (name,)).fetchone() is None:
                connection.execute(f'CREATE DATABASE "{name}"')
                created.append(url)
    return created


def _drop_databases(urls: list[str]) -> None:
    for url in urls:
        if _dialect(url) != "postgresql":
            path = _sqlite_path(url)
            for suffix in ("", "-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)
            continue
        parts = urlsplit(psycopg_url(url))
        admin = urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


def _connect(url: str):
    if _dialect(url) == "postgresql":
        return psycopg.connect(psycopg_url(url))
    connection = sqlite3.connect(_sqlite_path(url), timeout=30)
    connection.execute("PRAGMA journal_mode=WAL")
    return connection


class Holder:
    """The seeded account: its id, username and password, and what to remove after."""

    def __init__(self, account_id: str, username: str, password: str, product_id: int | None):
        self.account_id = account_id
        self.username = username
        self.password = password
        self.created_product_id = product_id


def _product_id(connection, dialect: str) -> tuple[int, bool]:
    """The benchmark product's id, inserting it when the database has none."""
    mark = "%s" if dialect == "postgresql" else "?"
    found = connection.execute(f"SELECT id FROM products WHERE code = {mark}",
                               (PRODUCT,)).fetchone()
    if found is not None:
        return found[0], False
    now = "now()" if dialect == "postgresql" else "CURRENT_TIMESTAMP"
    inserted = connection.execute(
        f"INSERT INTO products (code, name, created_at) VALUES ({mark}, 'NUMFLO CFD', {now}) "
        "RETURNING id", (PRODUCT,)).fetchone()
    return inserted[0], True


def seed_holder(url: str, settings: dict, say) -> Holder:
    """One account with SEATS seats on SEATS / 10 licenses, written in bulk."""
    from config.settings import PASSWORD_HASH_PRODUCTION
    from licensing.accounts.passwords import PasswordService
    from privacy.vault import Vault

    dialect = _dialect(url)
    password = secrets.token_urlsafe(18)
    password_hash = PasswordService(**PASSWORD_HASH_PRODUCTION).hash(password)
    keys = settings["TESSERA_PSEUDONYM_KEYS"]
    pseudonym_key = keys.get("1") or next(iter(keys.values()))
    username = f"bench-export-{secrets.token_hex(4)}"
    started = time.perf_counter()
    with closing(_connect(url)) as connection:
        product_id, created = _product_id(connection, dialect)
        seeder = seed.Seeder(connection, dialect, pseudonym_key,
                             Vault(settings["TESSERA_VAULT_KEYS"]), password_hash)
        (account_id,) = seeder.accounts([username])
        licenses = seeder.licenses([account_id] * -(-SEATS // SEATS_PER_LICENSE), product_id,
                                   SEATS_PER_LICENSE)
        # Every seat "hot": each gets a device name sealed in the vault, which the export
        # decrypts, as it would for seats made by real activations.
        seeder.seats(licenses, SEATS, set(range(SEATS)))
        connection.commit()
        connection.execute("ANALYZE")
        connection.commit()
    say(f"  seeded {username}: {len(licenses):,} licenses, {SEATS:,} seats in "
        f"{time.perf_counter() - started:.1f} s ({dialect})")
    return Holder(account_id, username, password, product_id if created else None)


def remove_holder(url: str, holder: Holder) -> None:
    """Delete the seeded account, its sessions, seats and licenses (and a product it added)."""
    mark = "%s" if _dialect(url) == "postgresql" else "?"
    licenses = f"SELECT id FROM licenses WHERE account_id = {mark}"
    with closing(_connect(url)) as connection:
        for statement in (f"DELETE FROM customer_sessions WHERE account_id = {mark}",
                          f"DELETE FROM seats WHERE license_id IN ({licenses})",
                          f"DELETE FROM licenses WHERE account_id = {mark}",
                          f"DELETE FROM accounts WHERE id = {mark}"):
            connection.execute(statement, (holder.account_id,))
        if holder.created_product_id is not None:
            connection.execute(f"DELETE FROM products WHERE id = {mark}",
                               (holder.created_product_id,))
        connection.commit()


def _request(url: str, *, body: dict | None = None, token: str | None = None) -> bytes:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers),
                                timeout=TIMEOUT) as response:
        return response.read()


def time_export(base_url: str, holder: Holder, say) -> tuple[list[float], bytes]:
    """Sign in, then time GET /v1/me/data REPETITIONS times after WARM_UPS untimed calls."""
    session = json.loads(_request(base_url + "/v1/session",
                                  body={"username": holder.username,
                                        "password": holder.password}))
    for _ in range(WARM_UPS):
        _request(base_url + "/v1/me/data", token=session["token"])
    seconds, body = [], b""
    for n in range(REPETITIONS):
        started = time.perf_counter()
        body = _request(base_url + "/v1/me/data", token=session["token"])
        seconds.append(time.perf_counter() - started)
        say(f"  GET /v1/me/data {n + 1}/{REPETITIONS}: {seconds[-1]:.3f} s, "
            f"{len(body) / 2**20:.1f} MiB")
    return seconds, body


def _seats_in(body: bytes) -> int:
    return len(json.loads(body)["data"]["licensing"]["seats"])


def measure_export(env: dict, say) -> dict:
    """Time the subject-access export of a 10,000-seat account through gunicorn."""
    say("== export of an account with 10,000 seats")
    settings = _settings(env)
    url = settings["SQLALCHEMY_DATABASE_URI"]
    created = _ensure_databases([url, settings["SQLALCHEMY_BINDS"]["compliance"]])
    try:
        flask(env, "db", "upgrade")
        holder = seed_holder(url, settings, say)
        try:
            log = RESULTS / "logs" / f"export-{_dialect(url)}.log"
            with running(Server("wsgi:app", env, log)) as (server,):
                seconds, body = time_export(server.url, holder, say)
        finally:
            remove_holder(url, holder)
    finally:
        _drop_databases(created)
    return _row(seconds, _seats_in(body), len(body), _dialect(url))


def _row(seconds: list[float], seats: int, size: int, dialect: str) -> dict:
    median = statistics.median(seconds)
    how = (f"GET /v1/me/data through gunicorn (config/gunicorn.conf.py) on {dialect}, median "
           f"of {len(seconds)} after {WARM_UPS} warm-up requests, {size / 2**20:.1f} MiB of "
           f"JSON; one account with {SEATS:,} seats on {SEATS // SEATS_PER_LICENSE:,} "
           "licenses, each seat with a vault-encrypted device name, seeded in bulk with "
           "bench.seed's Seeder (COPY on PostgreSQL, executemany on SQLite)")
    if seats != SEATS:
        return {"status": "failed", "figure": f"the export held {seats:,} seats, not {SEATS:,}",
                "seconds": median, "met": False, "detail": how}
    return {"status": "measured",
            "figure": f"{median:.2f} s (min–max {min(seconds):.2f}–{max(seconds):.2f} s) "
                      f"for {SEATS:,} seats",
            "seconds": median, "met": median <= TARGET_SECONDS, "detail": how}


def main() -> int:
    backend = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    names = {"postgresql": ("tessera_bench_export", "tessera_bench_export_c"),
             "sqlite": ("export", "export_compliance")}[backend]
    env = service_env(bench_secrets(), backend, *names, RESULTS / f"export-{backend}" / "instance")
    row = measure_export(env, lambda message: print(message, flush=True))
    print(json.dumps(row, indent=2, ensure_ascii=False))
    return 0 if row["status"] == "measured" else 1


if __name__ == "__main__":
    sys.exit(main())
