"""`make bench`: load the desktop protocol under gunicorn, beside a floor app.

Run: .venv/bin/python -m bench.run   (BENCH_QUICK=1 for a short smoke run)

For each database (PostgreSQL, SQLite): migrate, seed N seats in bulk, start
Tessera and the floor app on the same gunicorn settings, then run fixed-length
wrk loads at fixed concurrencies: refresh (paired with the floor, several
repetitions), activation by code, activation by password. Then refresh
latency at 10k against 1M seats (PostgreSQL), and the privacy jobs when they
exist. Results go to bench/results/ (JSON) and docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import psycopg

from bench import proofs, report, seed
from bench.common import RESULTS, ROOT, bench_secrets, database_url, psycopg_url
from bench.servers import (Server, drop_databases, flask, recreate_databases, running, service_env,
                           wrk, wrk_available)

QUICK = os.environ.get("BENCH_QUICK") == "1"
SETTINGS = {
    "seats": int(os.environ.get("BENCH_SEATS", 2000 if QUICK else 10_000)),
    "scale_seats": int(os.environ.get("BENCH_SCALE_SEATS", 50_000 if QUICK else 1_000_000)),
    "hot_seats": int(os.environ.get("BENCH_HOT_SEATS", 2000 if QUICK else 10_000)),
    "seconds": float(os.environ.get("BENCH_SECONDS", 3 if QUICK else 8)),
    "repetitions": int(os.environ.get("BENCH_REPETITIONS", 1 if QUICK else 3)),
    "concurrency": [int(c) for c in os.environ.get(
        "BENCH_CONCURRENCY", "1,16" if QUICK else "1,16,64").split(",")],
    "backends": os.environ.get("BENCH_BACKENDS",
                               "postgresql,postgresql+redis,sqlite").split(","),
    "wave_licenses": 200,
    "password_seconds": float(os.environ.get("BENCH_PASSWORD_SECONDS", 3 if QUICK else 10)),
}
TARGET_CONCURRENCY = 16
# BENCH_ONLY=refresh: refresh against the floor only (for choosing worker settings).
ONLY_REFRESH = os.environ.get("BENCH_ONLY") == "refresh"
PASSWORD = "bench-password-" + os.urandom(6).hex()
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
# BENCH_PG_PREFIX names other databases, so two runs on one server never meet.
PG_PREFIX = os.environ.get("BENCH_PG_PREFIX", "tessera_bench")
PG_NAMES = {"default": PG_PREFIX, "compliance": f"{PG_PREFIX}_c", "scale": f"{PG_PREFIX}_1m"}
SQLITE_NAMES = {"default": "tessera", "compliance": "compliance"}


def say(message: str) -> None:
    stamp = datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", flush=True)


class Capacity:
    """How many requests to pre-generate: what the fastest phase managed, with room."""

    def __init__(self, guess: float):
        self.rate = guess

    def needed(self, seconds: float) -> int:
        return int(self.rate * 1.6 * seconds) + 500

    def saw(self, result: dict) -> None:
        self.rate = max(self.rate, result["rps"])


class Backend:
    """One database flavour: its databases, seeded data and servers.

    "postgresql+redis" is PostgreSQL with the DPoP replay cache in Redis, the
    multi-instance deployment of DESIGN.md.
    """

    def __init__(self, label: str, secrets: dict, password_hash: str):
        self.label = label
        self.name = label.split("+")[0]
        self.names = PG_NAMES if self.name == "postgresql" else SQLITE_NAMES
        self.secrets = secrets
        self.password_hash = password_hash
        self.work = RESULTS / label
        self.env = service_env(secrets, self.name, self.names["default"],
                               self.names["compliance"], self.work / "instance")
        if label.endswith("+redis"):
            self.env["TESSERA_REDIS_URL"] = REDIS_URL
            self.env["TESSERA_RATELIMIT_STORAGE_URI"] = REDIS_URL

    def prepare(self, database: str, seats: int) -> seed.Seeded:
        """Create, migrate and seed DATABASE with SEATS seats."""
        env = dict(self.env, TESSERA_DATABASE_URL=database_url(self.name, database))
        started = time.perf_counter()
        flask(env, "db", "upgrade")
        flask(env, "keys", "init")
        migrated = time.perf_counter() - started
        seeded = self._seed(database, seats)
        say(f"  {self.name}/{database}: migrated in {migrated:.1f} s, seeded {seats:,} seats "
            f"in {seeded.seconds:.1f} s")
        return seeded

    def connect(self, database: str):
        url = database_url(self.name, database)
        if self.name == "postgresql":
            return psycopg.connect(psycopg_url(url))
        import sqlite3

        connection = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)
        connection.execute("PRAGMA journal_mode=WAL")
        return connection

    def _seed(self, database: str, seats: int) -> seed.Seeded:
        from config.settings import parse_keyring
        from privacy.vault import Vault

        pseudonym_key = parse_keyring(self.secrets["TESSERA_PSEUDONYM_KEYS"], "p")["1"]
        vault = Vault(parse_keyring(self.secrets["TESSERA_VAULT_KEYS"], "v"))
        connection = self.connect(database)
        try:
            cursor = connection.execute(
                "INSERT INTO products (code, name, created_at) VALUES ('numflo', 'NUMFLO CFD', "
                f"{'now()' if self.name == 'postgresql' else 'CURRENT_TIMESTAMP'}) RETURNING id")
            product_id = cursor.fetchone()[0]
            seeded = seed.seed(connection, self.name, product_id=product_id, seats=seats,
                               hot=SETTINGS["hot_seats"], wave=SETTINGS["wave_licenses"],
                               pseudonym_key=pseudonym_key, vault=vault,
                               password_hash=self.password_hash)
            connection.commit()
            connection.execute("ANALYZE")
            connection.commit()
        finally:
            connection.close()
        return seeded

    def add_codes(self, seeded: seed.Seeded, count: int) -> list[str]:
        from config.settings import parse_keyring

        key = parse_keyring(self.secrets["TESSERA_PSEUDONYM_KEYS"], "p")["1"]
        connection = self.connect(self.names["default"])
        try:
            codes = seed.add_codes(connection, self.name, key, seeded.wave_licenses, count)
            connection.commit()
        finally:
            connection.close()
        return codes

    def tessera(self, database: str | None = None, label: str = "tessera") -> Server:
        env = dict(self.env)
        if database:
            env["TESSERA_DATABASE_URL"] = database_url(self.name, database)
        return Server("wsgi:app", env, RESULTS / "logs" / f"{self.label}-{label}.log")

    def floor(self) -> Server:
        return Server("bench.floor:app", self.env, RESULTS / "logs" / f"{self.label}-floor.log")


def requests_file(kind: str) -> Path:
    folder = RESULTS / "requests"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / kind


def refresh_load(server: Server, devices, concurrency: int, seconds: float,
                 capacity: Capacity) -> dict:
    """One refresh load: fresh proofs, then wrk."""
    prefix = requests_file("refresh")
    proofs.refresh_requests(prefix, server.url, devices, capacity.needed(seconds),
                            min(2, concurrency))
    result = wrk(server.url, prefix, concurrency, seconds)
    capacity.saw(result)
    return result


def floor_load(server: Server, prefix: Path, concurrency: int, seconds: float) -> dict:
    # The floor ignores the DPoP header, so it may reuse a file of spent proofs.
    return wrk(server.url, prefix, concurrency, seconds)


def refresh_pairs(tessera: Server, floor: Server, seeded: seed.Seeded,
                  capacity: Capacity) -> list[dict]:
    """Tessera and the floor, back to back, in alternating order, per concurrency."""
    pairs = []
    for concurrency in SETTINGS["concurrency"]:
        for rep in range(SETTINGS["repetitions"]):
            devices = random.sample(seeded.devices, len(seeded.devices))
            seconds = SETTINGS["seconds"]
            if rep % 2 == 0:
                ours = refresh_load(tessera, devices, concurrency, seconds, capacity)
                theirs = floor_load(floor, requests_file("refresh"), concurrency, seconds)
            else:
                proofs.refresh_requests(requests_file("refresh"), tessera.url, devices,
                                        capacity.needed(seconds), min(2, concurrency))
                theirs = floor_load(floor, requests_file("refresh"), concurrency, seconds)
                ours = wrk(tessera.url, requests_file("refresh"), concurrency, seconds)
                capacity.saw(ours)
            ratio = ours["rps"] / theirs["rps"] if theirs["rps"] else 0.0
            pairs.append({"concurrency": concurrency, "repetition": rep, "tessera": ours,
                          "floor": theirs, "ratio": ratio})
            say(f"  refresh c={concurrency:<3} rep {rep + 1}: tessera {ours['rps']:7.0f}/s "
                f"p50 {ours['p50_us'] / 1000:6.1f} ms p99 {ours['p99_us'] / 1000:6.1f} ms | "
                f"floor {theirs['rps']:7.0f}/s | ratio {ratio:.2f}"
                + (f" | {ours['errors']} errors" if ours["errors"] else ""))
    return pairs


def alternating(title: str, loads: list[tuple[str, object]], rate=lambda r: r["rps"]) -> list[dict]:
    """Two loads back to back, in alternating order, SETTINGS['repetitions'] times (c=16).

    LOADS = [(label, load)]: each load is a callable returning a wrk result.
    Each row's ratio is RATE(second) / RATE(first) of the same round.
    """
    (first, _), (second, _) = loads
    rows = []
    for rep in range(SETTINGS["repetitions"]):
        row = {"concurrency": TARGET_CONCURRENCY, "repetition": rep}
        for label, load in (loads if rep % 2 == 0 else loads[::-1]):
            row[label] = load()
        row["ratio"] = rate(row[second]) / rate(row[first]) if rate(row[first]) else 0.0
        rows.append(row)
        say(f"  {title} c={TARGET_CONCURRENCY} rep {rep + 1}: {second} "
            f"{rate(row[second]):7.0f}/s p50 {row[second]['p50_us'] / 1000:6.1f} ms | {first} "
            f"{rate(row[first]):7.0f}/s p50 {row[first]['p50_us'] / 1000:6.1f} ms | "
            f"ratio {row['ratio']:.2f}"
            + (f" | {row[second]['errors']} errors" if row[second]["errors"] else ""))
    return rows


def _refreshes(server: Server, devices, capacity: Capacity):
    return lambda: refresh_load(server, random.sample(devices, len(devices)), TARGET_CONCURRENCY,
                                SETTINGS["seconds"], capacity)


def floating_pairs(tessera: Server, seeded: seed.Seeded, capacity: Capacity) -> list[dict]:
    """Refresh of floating seats against node-locked ones on the same server, back to back.

    The floating refresh is the same single statement, which also extends the
    seat's hold; these pairs show what that costs.
    """
    return alternating("floating refresh", [
        ("node_locked", _refreshes(tessera, seeded.devices, capacity)),
        ("floating", _refreshes(tessera, seeded.floating_devices, capacity))])


FOREIGN_EVERY = 10


def second_wave(backend: Backend, tessera: Server, seeded: seed.Seeded,
                capacity: Capacity) -> dict:
    """What the second wave adds to a refresh, each against plain refresh (c=16, alternating).

    metrics: the same server with TESSERA_METRICS=off against on; screening:
    a 10,000-row list file against the none provider, after `flask compliance
    screen-accounts` (timed) has made every account's verdict; foreign keys:
    a load in which every 10th request is a refresh with another device's key
    (401, recorded), against plain refresh, then the record's count is checked
    against the 401s wrk saw (it may count the few still in flight when wrk
    stopped, at most c per repetition).
    """
    outcome = {}
    quiet = Server("wsgi:app", dict(backend.env, TESSERA_METRICS="off"),
                   RESULTS / "logs" / f"{backend.label}-metrics-off.log")
    with running(quiet):
        refresh_load(quiet, seeded.devices, TARGET_CONCURRENCY, 2, capacity)
        outcome["metrics"] = alternating("metrics on/off", [
            ("off", _refreshes(quiet, seeded.devices, capacity)),
            ("on", _refreshes(tessera, seeded.devices, capacity))])

    from bench.screening import write_list

    listed = write_list(RESULTS / "screening-10k.csv")
    env = dict(backend.env, TESSERA_SCREENING=f"file:{listed}")
    started = time.perf_counter()
    summary = flask(env, "compliance", "screen-accounts", "--json").strip().splitlines()[-1]
    screened = {"seconds": time.perf_counter() - started, **json.loads(summary)}
    say(f"  screen-accounts: {screened['accounts']:,} accounts against 10,000 rows in "
        f"{screened['seconds']:.1f} s, {screened['hits']} hits")
    screening = Server("wsgi:app", env, RESULTS / "logs" / f"{backend.label}-screening.log")
    with running(screening):
        refresh_load(screening, seeded.devices, TARGET_CONCURRENCY, 2, capacity)
        outcome["screening"] = {"accounts": screened, "rows": 10_000, "pairs": alternating(
            "screening file/none", [("none", _refreshes(tessera, seeded.devices, capacity)),
                                    ("file", _refreshes(screening, seeded.devices, capacity))])}

    target, others = seeded.devices[0], seeded.devices[1:]

    def mixed():
        prefix = requests_file("foreign")
        proofs.foreign_key_requests(prefix, tessera.url, random.sample(others, len(others)),
                                    capacity.needed(SETTINGS["seconds"]), 2, target,
                                    FOREIGN_EVERY)
        return wrk(tessera.url, prefix, TARGET_CONCURRENCY, SETTINGS["seconds"])

    before = foreign_key_count(backend)
    pairs = alternating("1 in 10 foreign-key", [
        ("plain", _refreshes(tessera, others, capacity)), ("mixed", mixed)], rate=report.answered)
    refused = sum(row["mixed"]["non_2xx"] for row in pairs)
    recorded = foreign_key_count(backend) - before
    say(f"  foreign-key refreshes answered 401: {refused:,}; the record's count grew by "
        f"{recorded:,}")
    outcome["foreign_key"] = {"every": FOREIGN_EVERY, "pairs": pairs, "refused": refused,
                              "recorded": recorded}
    return outcome


def foreign_key_count(backend: Backend) -> int:
    """The count of foreign_key_refresh records in the compliance store (one open record)."""
    connection = backend.connect(backend.names["compliance"])
    try:
        row = connection.execute("SELECT COALESCE(SUM(count), 0), COUNT(*) FROM legal_records "
                                 "WHERE kind = 'foreign_key_refresh'").fetchone()
    finally:
        connection.close()
    return int(row[0])


def activation_loads(backend: Backend, tessera: Server, seeded: seed.Seeded,
                     kind: str, capacity: Capacity) -> list[dict]:
    """Activation waves by code or by password at each concurrency."""
    results = []
    seconds = SETTINGS["seconds"] if kind == "code" else SETTINGS["password_seconds"]
    for concurrency in SETTINGS["concurrency"]:
        reps = SETTINGS["repetitions"] if concurrency == TARGET_CONCURRENCY else 1
        for rep in range(reps):
            count = capacity.needed(seconds)
            if kind == "code":
                credentials = [{"activation_code": c} for c in backend.add_codes(seeded, count)]
            else:
                credentials = [{"username": seeded.password_users[n % len(seeded.password_users)],
                                "password": PASSWORD} for n in range(count)]
            prefix = requests_file(kind)
            proofs.activation_requests(prefix, tessera.url, credentials, min(2, concurrency))
            result = wrk(tessera.url, prefix, concurrency, seconds)
            capacity.saw(result)
            results.append({"concurrency": concurrency, "repetition": rep, **result})
            say(f"  activate by {kind:<8} c={concurrency:<3} rep {rep + 1}: "
                f"{result['rps']:7.1f}/s p50 {result['p50_us'] / 1000:7.1f} ms "
                f"p99 {result['p99_us'] / 1000:7.1f} ms"
                + (f" | {result['errors']} errors" if result["errors"] else ""))
    return results


def warm_up(tessera: Server, floor: Server, seeded: seed.Seeded, capacity: Capacity) -> None:
    """Let every worker import, connect and load its signer before anything is timed."""
    refresh_load(tessera, seeded.devices, TARGET_CONCURRENCY, 2, capacity)
    floor_load(floor, requests_file("refresh"), TARGET_CONCURRENCY, 2)


def run_backend(label: str, secrets: dict, password_hash: str) -> dict:
    say(f"== {label}")
    backend = Backend(label, secrets, password_hash)
    name = backend.name
    recreate_databases(name, [backend.names["default"], backend.names["compliance"]])
    seeded = backend.prepare(backend.names["default"], SETTINGS["seats"])
    tessera, floor = backend.tessera(), backend.floor()
    capacity = Capacity(2500)
    with running(tessera, floor):
        warm_up(tessera, floor, seeded, capacity)
        outcome = {"seeding": {"seats": seeded.seats, "seconds": seeded.seconds,
                               "counts": seeded.counts},
                   "refresh": refresh_pairs(tessera, floor, seeded, capacity)}
        if ONLY_REFRESH:
            return outcome
        outcome["floating_refresh"] = floating_pairs(tessera, seeded, capacity)
        if label == "postgresql":
            outcome["second_wave"] = second_wave(backend, tessera, seeded, capacity)
        outcome["activate_code"] = activation_loads(backend, tessera, seeded, "code",
                                                    Capacity(1500))
        if label.endswith("+redis"):
            return outcome
        outcome["activate_password"] = activation_loads(backend, tessera, seeded, "password",
                                                        Capacity(60))
        if label == "postgresql":
            outcome["scale"] = scale(backend, tessera, seeded)
    if label == "postgresql":
        drop_databases([PG_NAMES["scale"]])
    return outcome


def scale(backend: Backend, small: Server, small_seeded: seed.Seeded) -> dict:
    """Refresh latency on SETTINGS['seats'] against SETTINGS['scale_seats'] seats, alternating."""
    say(f"== scale: {SETTINGS['seats']:,} against {SETTINGS['scale_seats']:,} seats "
        "(PostgreSQL)")
    recreate_databases("postgresql", [PG_NAMES["scale"]])
    big_seeded = backend.prepare(PG_NAMES["scale"], SETTINGS["scale_seats"])
    big = backend.tessera(PG_NAMES["scale"], "tessera-1m")
    rounds = []
    capacity = Capacity(2500)
    with running(big):
        refresh_load(big, big_seeded.devices, TARGET_CONCURRENCY, 2, capacity)
        for concurrency in (1, TARGET_CONCURRENCY):
            for rep in range(SETTINGS["repetitions"]):
                order = [("small", small, small_seeded), ("big", big, big_seeded)]
                if rep % 2:
                    order.reverse()
                row = {"concurrency": concurrency, "repetition": rep}
                for label, server, seeded in order:
                    row[label] = refresh_load(server, random.sample(seeded.devices,
                                                                    len(seeded.devices)),
                                              concurrency, SETTINGS["seconds"], capacity)
                row["ratio_p50"] = row["big"]["p50_us"] / max(1, row["small"]["p50_us"])
                rounds.append(row)
                say(f"  c={concurrency:<3} rep {rep + 1}: p50 {row['small']['p50_us'] / 1000:.2f} "
                    f"ms at {SETTINGS['seats']:,}, {row['big']['p50_us'] / 1000:.2f} ms at "
                    f"{SETTINGS['scale_seats']:,} (x{row['ratio_p50']:.2f})")
    return {"small_seats": SETTINGS["seats"], "big_seats": SETTINGS["scale_seats"],
            "seed_seconds": big_seeded.seconds, "rounds": rounds}


def password_hash_timing() -> tuple[str, dict]:
    """Hash the benchmark password with the production parameters; time hash and verify."""
    from config.settings import PASSWORD_HASH_PRODUCTION
    from licensing.accounts.passwords import PasswordService

    service = PasswordService(**PASSWORD_HASH_PRODUCTION)
    hashes, verifies = [], []
    for _ in range(5):
        started = time.perf_counter()
        stored = service.hash(PASSWORD)
        hashes.append(time.perf_counter() - started)
        started = time.perf_counter()
        service.verify(stored, PASSWORD)
        verifies.append(time.perf_counter() - started)
    return stored, {"parameters": PASSWORD_HASH_PRODUCTION,
                    "hash_ms": statistics.median(hashes) * 1000,
                    "verify_ms": statistics.median(verifies) * 1000}


def privacy_jobs(secrets: dict, backends: dict) -> dict:
    """The purge and export rows (bench/privacy.py), at this run's PostgreSQL refresh rate."""
    from bench import privacy

    runs = backends.get("postgresql", {}).get("refresh") or []
    rates = sorted(r["tessera"]["rps"] for r in runs if r["concurrency"] == 16)
    return privacy.measure(secrets, say, rates[len(rates) // 2] if rates else None)


def machine() -> dict:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    with psycopg.connect(report.pg_admin_url()) as connection:
        pg_version = connection.execute("SHOW server_version").fetchone()[0]
    import sqlite3

    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(memory_kb / 2**20, 1),
            "kernel": platform.release(), "python": platform.python_version(),
            "postgresql": pg_version, "sqlite": sqlite3.sqlite_version,
            "wrk": wrk_version.strip(), "commit": commit,
            "gunicorn": report.gunicorn_settings()}


def main() -> int:
    if not wrk_available():
        print("wrk is not installed (make bench installs it)", file=sys.stderr)
        return 2
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    say("bench settings: " + ", ".join(f"{k}={v}" for k, v in SETTINGS.items()))
    secrets = bench_secrets()
    stored_hash, hashing = password_hash_timing()
    say(f"argon2id {hashing['parameters']}: hash {hashing['hash_ms']:.0f} ms, "
        f"verify {hashing['verify_ms']:.0f} ms")
    results = {"started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "settings": SETTINGS, "quick": QUICK, "machine": machine(),
               "password_hash": hashing, "backends": {}}
    for name in SETTINGS["backends"]:
        results["backends"][name] = run_backend(name, secrets, stored_hash)
    results["privacy"] = {} if ONLY_REFRESH else privacy_jobs(secrets, results["backends"])
    results["elapsed_seconds"] = time.monotonic() - started
    report.write(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
