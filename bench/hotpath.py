"""A hot path in one process: CPU per request, SQL per request, profile.

Run: .venv/bin/python -m bench.hotpath [postgresql|sqlite] [requests] [--profile]
     [--activation code]

Without --activation it measures refresh; with `--activation code` it
measures activation by code (a fresh code and a new device per request, so
each one takes a new seat, as the load benchmark's activation waves do).

Load tests on a shared machine are noisy, and so is CPU time: other processes
slow this one down. So Tessera and the floor app run in alternating rounds,
and the ratio is reported per round (median and spread) and for the quickest
round of each. The floor always does its refresh, on the same number of
requests: an activation's cost is read against the refresh floor. It drives
the real app through Flask's test client with valid, unique DPoP proofs and
counts the statements sent to the database (on SQLite, whose file is local,
the BEGIN, COMMIT and ROLLBACK listed are SQLAlchemy's transaction events,
autocommit connections included). Set BENCH_PG_PREFIX to use databases of
your own; PROFILE_OUT=FILE writes the --profile stats for pstats.
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import secrets
import statistics
import sys
import time
from dataclasses import dataclass

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench import proofs
from bench.common import PRODUCT, b64, bench_secrets
from bench.run import Backend, password_hash_timing, recreate_databases

ROUNDS = 20
WARM_UP = 200
# Requests whose SQL is counted, in a pass apart from the timed rounds.
COUNTED = 50


@dataclass(frozen=True)
class Request:
    """One request for the test client, and the status it must answer."""

    path: str
    proof: str
    body: dict
    status: int


def _cpu_per_request(client, requests: list[Request]) -> float:
    cpu = time.process_time()
    for r in requests:
        response = client.post(r.path, json=r.body, headers={"DPoP": r.proof})
        if response.status_code != r.status:
            raise RuntimeError(f"{r.path}: {response.status_code} "
                               f"{response.get_data(as_text=True)}")
    return (time.process_time() - cpu) / len(requests)


def _alternating(tessera, floor, requests, floor_requests) -> list[tuple[float, float]]:
    """CPU per request of Tessera and of the floor, in ROUNDS back-to-back pairs.

    The machine is shared: a pair run one right after the other sees the same
    load, so the ratio of each pair is steadier than either figure alone.
    """
    size = len(requests) // ROUNDS
    pairs = []
    for n in range(ROUNDS):
        window = slice(n * size, (n + 1) * size)
        pairs.append((_cpu_per_request(tessera, requests[window]),
                      _cpu_per_request(floor, floor_requests[window])))
    return pairs


def refresh_requests(seeded, count: int) -> list[Request]:
    """COUNT refreshes over the seeded hot seats."""
    maker, now = proofs.ProofMaker("http://localhost"), int(time.time())
    requests = []
    for n in range(count):
        device = seeded.devices[n % len(seeded.devices)]
        path = f"/v1/activations/{device.seat_id}/refresh"
        requests.append(Request(path, maker.proof(device.key, device.x, "POST", path, now), {},
                                200))
    return requests


def code_activations(backend: Backend, seeded, count: int) -> list[Request]:
    """COUNT activations, each by a fresh code for a new device (201)."""
    maker, now, path = proofs.ProofMaker("http://localhost"), int(time.time()), "/v1/activations"
    keys = [Ed25519PrivateKey.generate() for _ in range(64)]
    xs = [b64(k.public_key().public_bytes_raw()) for k in keys]
    requests = []
    for n, code in enumerate(backend.add_codes(seeded, count)):
        body = {"product": PRODUCT, "fingerprint": "bench-" + secrets.token_hex(16),
                "device_name": "bench workstation", "platform": "linux", "activation_code": code}
        requests.append(Request(path, maker.proof(keys[n % 64], xs[n % 64], "POST", path, now),
                                body, 201))
    return requests


def _report(kind: str, backend_name: str, count: int, pairs, statements: list[str],
            counted: int) -> None:
    ratios = sorted(t / f for t, f in pairs)
    print(f"{backend_name}: {count} {kind} in {ROUNDS} rounds, each beside the floor app's "
          f"refresh on as many requests; {len(statements) / counted:.1f} statements per "
          "request:")
    for statement in statements[:len(statements) // counted]:
        print("   ", statement)
    tessera, floor_cpu = [t for t, _ in pairs], [f for _, f in pairs]
    print(f"CPU per request: Tessera {statistics.median(tessera) * 1e6:.0f} µs, "
          f"floor {statistics.median(floor_cpu) * 1e6:.0f} µs (medians); "
          f"Tessera/floor {statistics.median(ratios):.2f} (rounds {ratios[0]:.2f}–{ratios[-1]:.2f})")
    # Noise only ever adds CPU time: the quickest round is the least disturbed.
    print(f"quickest rounds: Tessera {min(tessera) * 1e6:.0f} µs, floor {min(floor_cpu) * 1e6:.0f} µs;"
          f" Tessera/floor {min(tessera) / min(floor_cpu):.2f}")


def _profile(client, requests: list[Request]) -> str:
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    _cpu_per_request(client, requests)
    profiler.disable()
    if os.environ.get("PROFILE_OUT"):
        profiler.dump_stats(os.environ["PROFILE_OUT"])  # for pstats or snakeviz
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats(os.environ.get("SORT", "cumulative")).print_stats(45)
    return text.getvalue()


def _option(name: str) -> str | None:
    for n, arg in enumerate(sys.argv):
        if arg == name and n + 1 < len(sys.argv):
            return sys.argv[n + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def main() -> int:
    activation = _option("--activation")
    if activation not in (None, "code"):
        print("--activation takes: code", file=sys.stderr)
        return 2
    args = [a for a in sys.argv[1:] if not a.startswith("--") and a != activation]
    backend_name = args[0] if args else "postgresql"
    count = int(args[1]) if len(args) > 1 else 3000
    profiling = "--profile" in sys.argv
    secrets_ = bench_secrets()
    stored_hash, _ = password_hash_timing()
    backend = Backend(backend_name, secrets_, stored_hash)
    recreate_databases(backend_name, [backend.names["default"], backend.names["compliance"]])
    seeded = backend.prepare(backend.names["default"], 10_000)
    os.environ.update({k: v for k, v in backend.env.items() if k.startswith("TESSERA_")})

    from licensing import create_app

    app = create_app()
    client = app.test_client()
    from bench.floor import app as floor_app, engine as floor_engine

    # Every engine but the floor's: the attempt counters have an engine of their own.
    statements: list[str] = []

    def record(connection, _cursor, statement, *_):
        if connection.engine is not floor_engine:
            statements.append(statement.split("\n")[0][:100])

    # BEGIN, COMMIT and ROLLBACK are round trips too, but no cursor executes them;
    # on a connection in autocommit mode psycopg sends none of them.
    def transaction(connection, name):
        dbapi = connection.connection.dbapi_connection
        if connection.engine is not floor_engine and not getattr(dbapi, "autocommit", False):
            statements.append(name)
    listeners = [("before_cursor_execute", record)] + [
        (event, lambda connection, name=event.upper(): transaction(connection, name))
        for event in ("begin", "commit", "rollback")]
    total = WARM_UP + COUNTED + count * (2 if profiling else 1)
    floor_requests = refresh_requests(seeded, total)
    requests = (code_activations(backend, seeded, total) if activation == "code"
                else floor_requests)
    floor = floor_app.test_client()
    _cpu_per_request(client, requests[:WARM_UP])
    _cpu_per_request(floor, floor_requests[:WARM_UP])
    # The SQL is counted in a pass of its own, not in the timed rounds: with a listener
    # on the engine, the PostgreSQL refresh goes through SQLAlchemy, not psycopg directly.
    for event, listener in listeners:
        sa.event.listen(sa.Engine, event, listener)
    _cpu_per_request(client, requests[WARM_UP:WARM_UP + COUNTED])
    for event, listener in listeners:
        sa.event.remove(sa.Engine, event, listener)
    start = WARM_UP + COUNTED
    measured = slice(start, start + count)
    pairs = _alternating(client, floor, requests[measured], floor_requests[measured])
    kind = "code activations" if activation == "code" else "refreshes"
    _report(kind, backend_name, count, pairs, statements, COUNTED)
    if profiling:
        print(_profile(client, requests[start + count:]))
    if os.environ.get("BENCH_JSON"):
        ratios = [t / f for t, f in pairs]
        print(json.dumps({"median_ratio": statistics.median(ratios),
                          "statements": len(statements) / COUNTED}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
