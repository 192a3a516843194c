"""The refresh hot path in one process: CPU per request, SQL per request, profile.

Run: .venv/bin/python -m bench.hotpath [postgresql|sqlite] [requests] [--profile]

Load tests on a shared machine are noisy, and so is CPU time: other processes
slow this one down. So Tessera and the floor app run in alternating rounds on
the same requests, and the ratio is reported per round (median and spread)
and for the quickest round of each. It drives the real app through Flask's
test client with valid, unique DPoP proofs and counts the statements sent to
the database.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import statistics
import sys
import time

import sqlalchemy as sa

from bench import proofs
from bench.common import bench_secrets
from bench.run import Backend, password_hash_timing, recreate_databases

ROUNDS = 20


def _cpu_per_request(client, requests) -> float:
    cpu = time.process_time()
    for path, proof in requests:
        response = client.post(path, json={}, headers={"DPoP": proof})
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code} {response.get_data(as_text=True)}")
    return (time.process_time() - cpu) / len(requests)


def _alternating(tessera, floor, requests) -> list[tuple[float, float]]:
    """CPU per request of Tessera and of the floor, in ROUNDS back-to-back pairs.

    The machine is shared: a pair run one right after the other sees the same
    load, so the ratio of each pair is steadier than either figure alone.
    """
    size = len(requests) // ROUNDS
    pairs = []
    for n in range(ROUNDS):
        chunk = requests[n * size:(n + 1) * size]
        pairs.append((_cpu_per_request(tessera, chunk), _cpu_per_request(floor, chunk)))
    return pairs


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    backend_name = args[0] if args else "postgresql"
    count = int(args[1]) if len(args) > 1 else 3000
    secrets = bench_secrets()
    stored_hash, _ = password_hash_timing()
    backend = Backend(backend_name, secrets, stored_hash)
    recreate_databases(backend_name, [backend.names["default"], backend.names["compliance"]])
    seeded = backend.prepare(backend.names["default"], 10_000)
    os.environ.update({k: v for k, v in backend.env.items() if k.startswith("TESSERA_")})

    from core.database import db
    from licensing import create_app

    app = create_app()
    client = app.test_client()
    statements: list[str] = []

    def watch(*args):
        statements.append(args[2].split("\n")[0][:100])
    maker = proofs.ProofMaker("http://localhost")
    now = int(time.time())
    profiling = "--profile" in sys.argv
    requests = []
    for n in range(200 + count * (2 if profiling else 1)):
        device = seeded.devices[n % len(seeded.devices)]
        path = f"/v1/activations/{device.seat_id}/refresh"
        requests.append((path, maker.proof(device.key, device.x, "POST", path, now)))
    from bench.floor import app as floor_app

    floor = floor_app.test_client()
    _cpu_per_request(client, requests[:150])
    _cpu_per_request(floor, requests[:200])
    # The SQL of 50 refreshes, counted apart from the timed rounds: a listener on the
    # engine sends the PostgreSQL refresh through SQLAlchemy instead of psycopg directly.
    with app.app_context():
        engines = list(db.engines.values())
    for engine in engines:
        sa.event.listen(engine, "before_cursor_execute", watch)
    _cpu_per_request(client, requests[150:200])
    for engine in engines:
        sa.event.remove(engine, "before_cursor_execute", watch)
    pairs = _alternating(client, floor, requests[200:200 + count])
    ratios = sorted(t / f for t, f in pairs)
    print(f"{backend_name}: {count} refreshes in {ROUNDS} rounds, each beside the floor app on "
          f"the same requests; {len(statements) / 50:.1f} statements per refresh:")
    for statement in statements[:len(statements) // 50]:
        print("   ", statement)
    tessera, floor_cpu = [t for t, _ in pairs], [f for _, f in pairs]
    print(f"CPU per request: Tessera {statistics.median(tessera) * 1e6:.0f} µs, "
          f"floor {statistics.median(floor_cpu) * 1e6:.0f} µs (medians); "
          f"Tessera/floor {statistics.median(ratios):.2f} (rounds {ratios[0]:.2f}–{ratios[-1]:.2f})")
    # Noise only ever adds CPU time: the quickest round is the least disturbed.
    print(f"quickest rounds: Tessera {min(tessera) * 1e6:.0f} µs, floor {min(floor_cpu) * 1e6:.0f} µs;"
          f" Tessera/floor {min(tessera) / min(floor_cpu):.2f}")
    if profiling:
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        _cpu_per_request(client, requests[200 + count:])
        profiler.disable()
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats(os.environ.get("SORT", "cumulative")).print_stats(45)
        if os.environ.get("CALLEES"):  # e.g. CALLEES='views.py.*\(refresh\)'
            stats.print_callees(os.environ["CALLEES"])
        print(text.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
