"""The refresh hot path in one process: CPU per request, SQL per request, profile.

Run: .venv/bin/python -m bench.hotpath [postgresql|sqlite] [requests] [--profile]

Load tests on a shared machine are noisy; CPU time per request in one process
is not, so this is what each change to the hot path was judged by. It drives
the real app through Flask's test client with valid, unique DPoP proofs and
counts the statements sent to the database.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import sys
import time

import sqlalchemy as sa

from bench import proofs
from bench.common import bench_secrets
from bench.run import Backend, password_hash_timing, recreate_databases


def _floor_cpu(requests) -> float:
    """CPU per request of the floor app on the same database and requests."""
    from bench.floor import app as floor

    client = floor.test_client()
    for path, proof in requests[:100]:
        client.post(path, json={}, headers={"DPoP": proof})
    cpu = time.process_time()
    for path, proof in requests:
        client.post(path, json={}, headers={"DPoP": proof})
    return (time.process_time() - cpu) / len(requests)


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

    from licensing import create_app
    from licensing.extensions import db

    app = create_app()
    client = app.test_client()
    statements: list[str] = []
    with app.app_context():
        for engine in db.engines.values():
            sa.event.listen(engine, "before_cursor_execute",
                            lambda *a: statements.append(a[2].split("\n")[0][:100]))
    maker = proofs.ProofMaker("http://localhost")
    now = int(time.time())
    requests = []
    for n in range(count + 200):
        device = seeded.devices[n % len(seeded.devices)]
        path = f"/v1/activations/{device.seat_id}/refresh"
        requests.append((path, maker.proof(device.key, device.x, "POST", path, now)))
    for path, proof in requests[:200]:
        assert client.post(path, json={}, headers={"DPoP": proof}).status_code == 200
    statements.clear()
    profiler = cProfile.Profile(time.process_time) if "--profile" in sys.argv else None
    wall, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    for path, proof in requests[200:]:
        response = client.post(path, json={}, headers={"DPoP": proof})
        if response.status_code != 200:
            print(response.status_code, response.get_json())
            return 1
    if profiler:
        profiler.disable()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{backend_name}: {count} refreshes, {wall / count * 1e6:.0f} µs wall and "
          f"{cpu / count * 1e6:.0f} µs CPU per request, "
          f"{len(statements) / count:.1f} statements per request:")
    for statement in statements[:len(statements) // count]:
        print("   ", statement)
    floor_cpu = _floor_cpu(requests[200:])
    print(f"floor app, same requests: {floor_cpu * 1e6:.0f} µs CPU per request; "
          f"Tessera/floor CPU = {cpu / count / floor_cpu:.2f}")
    if profiler:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(45)
        print(text.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
