"""The privacy rows: `flask privacy purge` over 1M expired rows, spent proofs at 10 × the
refresh rate, and GET /v1/me/data.

The purge (bench/purge.py) seeds expired rows in bulk and times the command in
a process of its own, with its peak memory, at 1M and at 100k rows to show the
memory stays flat. The export (bench/export.py) times the subject-access
export of a 10,000-seat account through gunicorn. A job that fails is reported
as failed, with its error, and the other rows still run: no number is made up.
"""

from __future__ import annotations

import traceback

from bench.common import RESULTS
from bench.servers import service_env

TARGET_BACKEND = "postgresql"


def _guarded(name: str, job, say) -> dict:
    try:
        return job()
    except Exception as exc:  # one failed job must not lose the whole run's figures
        say(f"  {name} failed: {type(exc).__name__}: {exc}")
        traceback.print_exc()
        return {"status": "failed", "figure": f"failed ({type(exc).__name__})",
                "met": False, "detail": str(exc)[-500:]}


def _purge_rows(say) -> dict:
    from bench.purge import measure_purge

    measured = measure_purge(say)
    if "status" in measured:  # one backend only
        measured = {TARGET_BACKEND: measured}
    return measured


def measure(secrets: dict, say, refresh_rate: float | None = None) -> dict:
    """Time the purge and the export on each backend; the target rows use PostgreSQL.

    REFRESH_RATE (PostgreSQL, c=16, this run's) sets the spent-proof purge's load;
    without it the rate docs/benchmarks.json recorded is used.
    """
    from bench import proof_purge
    from bench.export import measure_export

    say("== privacy jobs")
    results = {}
    purges = _guarded("purge", lambda: _purge_rows(say), say)
    if "status" in purges:
        purges = {TARGET_BACKEND: purges}
    for backend, row in purges.items():
        results["purge_1m" if backend == TARGET_BACKEND else f"purge_1m_{backend}"] = row
    for backend, names in (("postgresql", ("tessera_bench_export", "tessera_bench_export_c")),
                           ("sqlite", ("export", "export_compliance"))):
        env = service_env(secrets, backend, *names, RESULTS / f"export-{backend}" / "instance")
        row = _guarded(f"export on {backend}", lambda: measure_export(env, say), say)
        results["export_10k" if backend == TARGET_BACKEND else f"export_10k_{backend}"] = row
    rate = refresh_rate or proof_purge.recorded_refresh_rate()
    results["proof_purge_10x"] = _guarded("spent-proof purge",
                                          lambda: proof_purge.measure(rate, say), say)
    for name, row in results.items():
        say(f"  {name}: {row.get('figure', row['status'])}")
    return results
