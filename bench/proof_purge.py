"""Does the purge keep up with spent DPoP proofs at ten times the measured refresh rate?

Every refresh spends a proof id, remembered for twice the proof window. With
the replay cache in the database (no Redis), `spent_proofs` grows at the
refresh rate and only the purge shrinks it. This seeds one minute's worth of
expired proofs at 10 × the refresh rate `make bench` measured (and as many live
ones, which must stay), times `flask privacy purge --commit` over them, and
says whether a purge every minute keeps up: the purge must take less than the
minute it clears.

Run: .venv/bin/python -m bench.proof_purge [REFRESHES_PER_SECOND]
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sys
from datetime import datetime, timedelta, timezone

import psycopg

from bench.common import RESULTS, ROOT, bench_secrets, database_url, psycopg_url
from bench.purge import run_purge
from bench.servers import drop_databases, flask, recreate_databases, service_env

NAMES = ("tessera_proof_purge", "tessera_proof_purge_c")
FACTOR = 10
INTERVAL_SECONDS = 60
# The PostgreSQL refresh rate at c=16 of the last recorded run, if none is given.
RECORDED = ROOT / "docs" / "benchmarks.json"


def recorded_refresh_rate() -> float:
    """The median Tessera refresh rate at c=16 on PostgreSQL in docs/benchmarks.json."""
    runs = json.loads(RECORDED.read_text())["backends"]["postgresql"]["refresh"]
    rates = sorted(r["tessera"]["rps"] for r in runs if r["concurrency"] == 16)
    return rates[len(rates) // 2]


def _seed(url: str, expired: int, live: int) -> None:
    now = datetime.now(timezone.utc)
    with psycopg.connect(psycopg_url(url)) as connection:
        with connection.cursor().copy("COPY spent_proofs (jti_hash, expires_at) FROM STDIN") as copy:
            for n in range(expired + live):
                until = now - timedelta(seconds=1 + n % 600) if n < expired else (
                    now + timedelta(seconds=600))
                copy.write_row((hashlib.sha256(secrets.token_bytes(16)).hexdigest(), until))
        connection.commit()
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE spent_proofs")


def measure(refresh_rate: float, say) -> dict:
    """Seed, purge, check; the row for the benchmark's table."""
    rows = int(FACTOR * refresh_rate * INTERVAL_SECONDS)
    recreate_databases("postgresql", list(NAMES))
    try:
        env = service_env(bench_secrets(), "postgresql", *NAMES,
                          RESULTS / "proof-purge" / "instance")
        flask(env, "db", "upgrade")
        _seed(database_url("postgresql", NAMES[0]), rows, rows)
        run = run_purge(env, "--commit")
        with psycopg.connect(psycopg_url(database_url("postgresql", NAMES[0]))) as connection:
            left = connection.execute("SELECT count(*) FROM spent_proofs").fetchone()[0]
    finally:
        drop_databases(list(NAMES))
    if left != rows:
        raise RuntimeError(f"{left} spent proofs left, expected the {rows} live ones")
    per_second = rows / run["seconds"]
    met = run["seconds"] < INTERVAL_SECONDS
    figure = (f"{rows:,} expired proofs (a minute at {FACTOR} × {refresh_rate:.0f}/s) purged "
              f"in {run['seconds']:.1f} s: {per_second:,.0f} rows/s")
    say(f"  spent-proof purge: {figure}; {'keeps up' if met else 'falls behind'}")
    return {"status": "measured", "figure": figure, "met": met, "seconds": run["seconds"],
            "rows": rows, "rows_per_second": per_second, "refresh_rate": refresh_rate,
            "detail": f"postgresql, {rows:,} live proofs left in place, purge every "
                      f"{INTERVAL_SECONDS} s"}


if __name__ == "__main__":
    rate = float(sys.argv[1]) if len(sys.argv) > 1 else recorded_refresh_rate()
    print(json.dumps(measure(rate, lambda line: print(line, flush=True)), indent=2))
