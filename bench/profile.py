"""Profile the refresh hot path: py-spy samples every gunicorn worker under wrk load.

Run: .venv/bin/python -m bench.profile [postgresql|sqlite] [seconds]
Writes bench/results/profile-<backend>.txt (collapsed stacks, for flamegraph
tools or speedscope) and prints where the workers' time goes: the share of
samples in which each function is on the stack, and each function's own time.
"""

from __future__ import annotations

import collections
import shutil
import subprocess
import sys

from bench import proofs
from bench.common import RESULTS, bench_secrets
from bench.run import Backend, Capacity, password_hash_timing, recreate_databases, requests_file
from bench.servers import running, wrk

INTERESTING = ("licensing/", "privacy/", "sqlalchemy/", "flask/", "flask_smorest/", "jwt/",
               "marshmallow/", "psycopg/", "werkzeug/", "cryptography/", "gunicorn/", "limits/",
               "flask_limiter/", "json/", "sqlite3/")


def summarize(stacks: str, top: int = 45) -> str:
    inclusive, own = collections.Counter(), collections.Counter()
    total = 0
    for line in stacks.splitlines():
        frames, _, count = line.rpartition(" ")
        if not frames:
            continue
        count = int(count)
        total += count
        names = frames.split(";")
        for name in set(names):
            inclusive[name] += count
        own[names[-1]] += count
    out = [f"{total} samples"]
    out.append("\n-- on the stack (inclusive) --")
    for name, count in inclusive.most_common(400):
        if any(key in name for key in INTERESTING):
            out.append(f"{100 * count / total:5.1f}%  {name}")
            if len(out) > top:
                break
    out.append("\n-- own time --")
    for name, count in own.most_common(30):
        out.append(f"{100 * count / total:5.1f}%  {name}")
    return "\n".join(out)


def main() -> int:
    backend_name = sys.argv[1] if len(sys.argv) > 1 else "postgresql"
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    if shutil.which("py-spy") is None and not (RESULTS.parent.parent / ".venv/bin/py-spy").exists():
        print("py-spy is not installed (pip install py-spy)", file=sys.stderr)
        return 2
    secrets = bench_secrets()
    stored_hash, _ = password_hash_timing()
    backend = Backend(backend_name, secrets, stored_hash)
    recreate_databases(backend_name, [backend.names["default"], backend.names["compliance"]])
    seeded = backend.prepare(backend.names["default"], 10_000)
    tessera = backend.tessera(label="profile")
    output = RESULTS / f"profile-{backend_name}.txt"
    with running(tessera):
        capacity = Capacity(2500)
        prefix = requests_file("refresh")
        proofs.refresh_requests(prefix, tessera.url, seeded.devices, 2000, 2)
        wrk(tessera.url, prefix, 16, 2)
        proofs.refresh_requests(prefix, tessera.url, seeded.devices, capacity.needed(seconds), 2)
        spy = subprocess.Popen([str(RESULTS.parent.parent / ".venv/bin/py-spy"), "record",
                                "--pid", str(tessera.process.pid), "--subprocesses",
                                "--format", "raw", "--rate", "250", "--nonblocking",
                                "--duration", str(seconds), "-o", str(output)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        result = wrk(tessera.url, prefix, 16, seconds)
        spy.wait()
    print(f"refresh c=16: {result['rps']:.0f}/s p50 {result['p50_us'] / 1000:.1f} ms "
          f"p99 {result['p99_us'] / 1000:.1f} ms errors {result['errors']}")
    print(summarize(output.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
