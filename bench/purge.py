"""`flask privacy purge` over 1M expired rows: wall time, peak memory, what is left.

For each backend: fresh databases, migrated, then seeded in bulk by
bench.seed.seed_purgeable (PURGE_MIX: 1,000,000 rows for the purge to act on,
across every retention rule, mixed with about as many it must leave alone).
`flask privacy purge --commit --json` then runs in a subprocess: its wall time
includes starting the app, its peak memory is the maximum RSS of that one
child (os.wait4). Afterwards the rows left are counted against what was
seeded, and a second run must act on nothing. The same is done with a tenth
of the rows: memory is flat when the 1M run's peak is not more than
FLAT_MIB or FLAT_SHARE above the 100k run's.

The benchmark's target row reads the PostgreSQL figure (TARGET_BACKEND).

Run: .venv/bin/python -m bench.purge [postgresql,sqlite]
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import psycopg

from bench import seed
from bench.common import PYTHON, RESULTS, ROOT, bench_secrets, database_url, psycopg_url
from bench.servers import drop_databases, flask, recreate_databases, service_env

TARGET_BACKEND = "postgresql"
TARGET_SECONDS = 60
ROWS = 1_000_000
SMALL_SCALE = 0.1
# A smoke run (BENCH_QUICK=1) seeds a twentieth of the rows.
SCALE = float(os.environ.get("BENCH_PURGE_SCALE",
                             "0.05" if os.environ.get("BENCH_QUICK") == "1" else "1"))
FLAT_MIB = 10
FLAT_SHARE = 0.10
PURGE_TIMEOUT = 900
NAMES = {"postgresql": {"default": "tessera_purge", "compliance": "tessera_purge_c"},
         "sqlite": {"default": "purge", "compliance": "purge_compliance"}}
# Stands in for an argon2id hash: nobody logs in to the seeded accounts.
PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2VlZGVkLW5vdC11c2Vk$" + "A" * 43


def _connect(backend: str, name: str):
    url = database_url(backend, name)
    if backend == "postgresql":
        return psycopg.connect(psycopg_url(url))
    connection = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)
    connection.execute("PRAGMA journal_mode=WAL")
    return connection


def _drop(backend: str, names: list[str]) -> None:
    if backend == "postgresql":
        drop_databases(names)
    else:
        recreate_databases(backend, names)  # on SQLite: removes the files


def _seed(backend: str, name: str, secrets: dict, scale: float) -> seed.Purgeable:
    from config.settings import parse_keyring
    from privacy.vault import Vault

    pseudonym_key = parse_keyring(secrets["TESSERA_PSEUDONYM_KEYS"], "p")["1"]
    vault = Vault(parse_keyring(secrets["TESSERA_VAULT_KEYS"], "v"))
    connection = _connect(backend, name)
    try:
        if backend == "sqlite":
            connection.execute("PRAGMA synchronous=OFF")  # this connection only
        now = "now()" if backend == "postgresql" else "CURRENT_TIMESTAMP"
        product_id = connection.execute(
            "INSERT INTO products (code, name, created_at) VALUES ('numflo', 'NUMFLO CFD', "
            f"{now}) RETURNING id").fetchone()[0]
        seeded = seed.seed_purgeable(connection, backend, product_id=product_id, scale=scale,
                                     pseudonym_key=pseudonym_key, vault=vault,
                                     password_hash=PASSWORD_HASH, rng=random.Random(13))
        connection.commit()
        # A table that has been in use is vacuumed and analysed; a fresh COPY is neither,
        # and the purge would pay for setting its hint bits and for the load's checkpoint.
        if backend == "postgresql":
            connection.autocommit = True
            connection.execute("VACUUM ANALYZE")
            connection.execute("CHECKPOINT")
        else:
            connection.execute("ANALYZE")
            connection.commit()
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    return seeded


def run_purge(env: dict, *args: str, timeout: float = PURGE_TIMEOUT) -> dict:
    """Run `flask privacy purge ARGS --json`: its JSON, wall seconds and peak RSS in MiB.

    The peak is the child's own ru_maxrss from wait4, so no other process the
    caller has run or waited for counts.
    """
    command = [str(Path(PYTHON).parent / "flask"), "--app", "wsgi", "privacy", "purge", *args,
               "--json"]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=err)
        timer = threading.Timer(timeout, process.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if process.returncode != 0:
        raise RuntimeError(f"flask privacy purge {' '.join(args)} exited with "
                           f"{process.returncode} after {seconds:.0f} s:\n{stderr[-2000:]}")
    return {"seconds": seconds, "peak_mib": usage.ru_maxrss / 1024,
            "result": json.loads(stdout.strip().splitlines()[-1])}


def _checks(seeded: seed.Purgeable) -> list[tuple[str, str, tuple, int | None, int | None]]:
    """(what, SQL count, times, rows before (None: not known), rows after (None: as before))."""
    c, now = seeded.counts, seeded.now
    day = timedelta(days=1)
    d30, d90, d365, d730 = now - 30 * day, now - 90 * day, now - 365 * day, now - 730 * day
    live, released = "released_at IS NULL", "released_at IS NOT NULL"
    band = "released_at >= ? AND released_at < ?"
    seats = sum(c[k] for k in seed.PURGE_SEAT_KINDS)
    recent, ip_rel, old = c["seat_recent"], c["seat_ip_released"], c["seat_released"]
    return [
        ("seats", "seats", (), seats, seats - c["seat_history"]),
        ("live seats", f"seats WHERE {live}", (), c["seat_live"] + c["seat_ip_live"], None),
        ("live seats with device data", f"seats WHERE {live} AND device_jkt IS NOT NULL", (),
         c["seat_live"] + c["seat_ip_live"], None),
        ("live seats with an IP prefix", f"seats WHERE {live} AND ip_prefix IS NOT NULL", (),
         c["seat_live"] + c["seat_ip_live"], c["seat_live"]),
        ("seats released < 30 days", "seats WHERE released_at >= ?", (d30,), recent, None),
        ("  with device data", "seats WHERE released_at >= ? AND device_name IS NOT NULL",
         (d30,), recent, None),
        ("  with an IP prefix", "seats WHERE released_at >= ? AND ip_prefix IS NOT NULL",
         (d30,), recent, None),
        ("seats released 30-90 days", f"seats WHERE {band}", (d90, d30), ip_rel, None),
        ("  with device data", f"seats WHERE {band} AND device_pseudonym IS NOT NULL",
         (d90, d30), ip_rel, None),
        ("  with an IP prefix", f"seats WHERE {band} AND ip_prefix_at IS NOT NULL",
         (d90, d30), ip_rel, 0),
        ("seats released 90 days-24 months", f"seats WHERE {band}", (d730, d90),
         old + c["seat_husk"], None),
        ("  with device data", f"seats WHERE {band} AND (device_jkt IS NOT NULL OR "
         "device_name IS NOT NULL OR platform IS NOT NULL OR country IS NOT NULL)",
         (d730, d90), old, 0),
        ("  with their release reason", f"seats WHERE {band} AND release_reason IS NOT NULL",
         (d730, d90), old + c["seat_husk"], None),
        ("seats released > 24 months", "seats WHERE released_at < ?", (d730,),
         c["seat_history"], 0),
        ("released seats", f"seats WHERE {released}", (),
         recent + ip_rel + old + c["seat_husk"] + c["seat_history"],
         recent + ip_rel + old + c["seat_husk"]),
        ("activation codes", "activation_codes", (), c["code_expired"] + c["code_live"],
         c["code_live"]),
        ("expired activation codes", "activation_codes WHERE expires_at < ?", (now,),
         c["code_expired"], 0),
        ("live codes bound to a seat",
         "activation_codes WHERE expires_at > ? AND seat_id IS NOT NULL", (now,), None, None),
        ("spent proofs", "spent_proofs", (), c["proof_expired"] + c["proof_live"],
         c["proof_live"]),
        ("expired spent proofs", "spent_proofs WHERE expires_at < ?", (now + timedelta(hours=1),),
         c["proof_expired"], 0),
        ("access-log entries", "access_log", (), c["log_expired"] + c["log_recent"],
         c["log_recent"]),
        ("access-log entries > 12 months", "access_log WHERE occurred_at < ?", (d365,),
         c["log_expired"], 0),
        ("staff", "staff", (), c["staff_disabled"] + c["staff_kept"], c["staff_kept"]),
        ("staff disabled > 12 months", "staff WHERE disabled_at < ?", (d365,),
         c["staff_disabled"], 0),
    ]


def _count_all(backend: str, name: str, checks, dialect_times) -> list[int]:
    mark = "%s" if backend == "postgresql" else "?"
    connection = _connect(backend, name)
    try:
        return [connection.execute(f"SELECT count(*) FROM {sql}".replace("?", mark),
                                   tuple(dialect_times(t) for t in times)).fetchone()[0]
                for _, sql, times, _, _ in checks]
    finally:
        connection.close()


def _verify(backend: str, name: str, seeded: seed.Purgeable, checks, before: list[int],
            purged: dict, again: dict) -> None:
    """Raise unless exactly the expired rows went and nothing else changed."""
    times = seed.Formats(backend).time
    after = _count_all(backend, name, checks, times)
    wrong = []
    for (what, _, _, want_before, want_after), was, now in zip(checks, before, after):
        if want_before is not None and was != want_before:
            wrong.append(f"{what}: {was} before the purge, seeded {want_before}")
        expected = was if want_after is None else want_after
        if now != expected:
            wrong.append(f"{what}: {now} after the purge, expected {expected}")
    rules = {rule: entry["rows"] for rules in purged["purposes"].values()
             for rule, entry in rules.items()}
    for rule, rows in seeded.expected().items():
        if rules.get(rule) != rows:
            wrong.append(f"rule {rule} acted on {rules.get(rule)} rows, expected {rows}")
    if purged["total"] != sum(seeded.expected().values()):
        wrong.append(f"the purge acted on {purged['total']} rows, expected "
                     f"{sum(seeded.expected().values())}")
    if again["total"] != 0:
        wrong.append(f"a second purge acted on {again['total']} rows")
    if wrong:
        raise RuntimeError("purge left the wrong rows:\n  " + "\n  ".join(wrong))


def purge_once(backend: str, secrets: dict, scale: float, say) -> dict:
    """Create, migrate and seed the databases at SCALE, purge, verify; the figures."""
    names = NAMES[backend]
    recreate_databases(backend, [names["default"], names["compliance"]])
    env = service_env(secrets, backend, names["default"], names["compliance"],
                      RESULTS / "purge" / backend / "instance")
    started = time.perf_counter()
    flask(env, "db", "upgrade")
    seeded = _seed(backend, names["default"], secrets, scale)
    acted = sum(seeded.expected().values())
    say(f"  {backend}: migrated and seeded {acted:,} rows to purge, "
        f"{sum(seeded.counts.values()) - acted:,} to keep, in "
        f"{time.perf_counter() - started:.0f} s")
    checks = _checks(seeded)
    before = _count_all(backend, names["default"], checks, seed.Formats(backend).time)
    run = run_purge(env, "--commit")
    say(f"  {backend}: purge of {run['result']['total']:,} rows took {run['seconds']:.1f} s, "
        f"peak RSS {run['peak_mib']:.0f} MiB")
    again = run_purge(env, "--commit")
    _verify(backend, names["default"], seeded, checks, before, run["result"], again["result"])
    say(f"  {backend}: verified: exactly the expired rows went; a second run acted on 0 rows "
        f"({again['seconds']:.1f} s)")
    return {"rows": acted, "seconds": run["seconds"], "peak_mib": run["peak_mib"],
            "seed_seconds": seeded.seconds, "second_run_seconds": again["seconds"],
            "rules": seeded.expected(), "counts": seeded.counts}


def _mix(counts: dict) -> str:
    c = {k: f"{v:,}" for k, v in counts.items()}
    acted = sum(counts[k] for kinds in seed.PURGE_RULES.values() for k in kinds)
    kept = sum(counts.values()) - acted
    prefixes = counts["seat_ip_live"] + counts["seat_ip_released"]
    return (f"{acted:,} rows to act on: seats released > 24 months {c['seat_history']} "
            f"(deleted), released > 90 days with device data {c['seat_released']} "
            f"(de-identified), IP prefixes > 30 days {prefixes:,} "
            f"(cleared), expired spent proofs {c['proof_expired']}, expired activation codes "
            f"{c['code_expired']}, access-log entries > 12 months {c['log_expired']}, staff "
            f"disabled > 12 months {c['staff_disabled']} (deleted); {kept:,} to keep: live seats "
            f"{c['seat_live']}, seats released < 20 days {c['seat_recent']}, de-identified seats "
            f"< 24 months {c['seat_husk']}, live proofs {c['proof_live']}, live codes "
            f"{c['code_live']}, recent log entries {c['log_recent']}, staff {c['staff_kept']}")


def measure_backend(backend: str, secrets: dict, say) -> dict:
    from privacy.retention import DEFAULT_BATCH_SIZE

    names = NAMES[backend]
    try:
        small = purge_once(backend, secrets, SCALE * SMALL_SCALE, say)
        big = purge_once(backend, secrets, SCALE, say)
    except Exception as exc:  # noqa: BLE001 - the row reports the failure
        say(f"  {backend}: failed: {exc}")
        return {"status": "failed", "figure": None, "seconds": None, "peak_mib": None,
                "met": False, "detail": f"{backend}: {exc}"}
    finally:
        _drop(backend, [names["default"], names["compliance"]])
    flat = big["peak_mib"] <= small["peak_mib"] + max(FLAT_MIB, FLAT_SHARE * small["peak_mib"])
    return {
        "status": "measured",
        "figure": (f"{big['seconds']:.1f} s, peak {big['peak_mib']:.0f} MiB "
                   f"({small['rows'] // 1000}k rows: {small['seconds']:.1f} s, "
                   f"{small['peak_mib']:.0f} MiB)"),
        "seconds": big["seconds"], "peak_mib": big["peak_mib"],
        # A scaled-down smoke run says nothing about the 1M target.
        "met": big["seconds"] <= TARGET_SECONDS and flat if SCALE >= 1 else None, "flat": flat,
        "detail": f"{backend}, {_mix(big['counts'])}, batch size {DEFAULT_BATCH_SIZE}",
        "rows": big["rows"], "rules": big["rules"], "seed_seconds": big["seed_seconds"],
        "second_run_seconds": big["second_run_seconds"],
        "small": {k: small[k] for k in ("rows", "seconds", "peak_mib", "seed_seconds")},
    }


def measure_purge(say, backends: tuple[str, ...] = ("postgresql", "sqlite")) -> dict:
    """Time `flask privacy purge --commit` over 1M expired rows, per backend.

    Returns {backend: row}; the target row ("≤ 60 s, memory flat") reads
    result[TARGET_BACKEND]. Each row has status, figure, seconds, peak_mib,
    met (≤ TARGET_SECONDS and flat) and detail (backend, mix, batch size).
    """
    say(f"== privacy purge of {int(ROWS * SCALE):,} expired rows ({', '.join(backends)})")
    secrets = bench_secrets()
    results = {}
    for backend in backends:
        results[backend] = row = measure_backend(backend, secrets, say)
        if row["status"] == "measured":
            say(f"  {backend}: {row['figure']}; target {'met' if row['met'] else 'not met'}")
    return results


if __name__ == "__main__":
    chosen = tuple(sys.argv[1].split(",")) if len(sys.argv) > 1 else ("postgresql", "sqlite")
    print(json.dumps(measure_purge(lambda line: print(line, flush=True), chosen), indent=2))
