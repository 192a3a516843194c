"""The privacy rows: `flask privacy purge` over 1M expired rows, and GET /v1/me/data.

Both belong to the privacy engine and the Customer Area. When the code does
not have them yet the rows say "not available": no number is made up.
"""

from __future__ import annotations

import subprocess

from bench.common import PYTHON, ROOT

NOT_AVAILABLE = "not available"


def _routes(env: dict) -> str:
    done = subprocess.run([PYTHON, "-m", "flask", "--app", "wsgi", "routes"], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    return done.stdout


def _has_purge(env: dict) -> bool:
    done = subprocess.run([PYTHON, "-m", "flask", "--app", "wsgi", "privacy", "purge", "--help"],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    return done.returncode == 0


def measure(env: dict, say) -> dict:
    """Time the purge and the export where the code has them."""
    say("== privacy jobs")
    results = {}
    purge_exists = _has_purge(env)
    export_exists = "/v1/me/data" in _routes(env)
    results["purge_1m"] = {"status": "present, not measured" if purge_exists else NOT_AVAILABLE,
                           "detail": "flask privacy purge" + (
                               " exists but this harness has no seeding for its expired rows"
                               if purge_exists else " is not in this build")}
    results["export_10k"] = {"status": "present, not measured" if export_exists else NOT_AVAILABLE,
                             "detail": "GET /v1/me/data" + (
                                 " exists but this harness does not measure it yet"
                                 if export_exists else " is not in this build")}
    for name, row in results.items():
        say(f"  {name}: {row['status']} ({row['detail']})")
    return results
