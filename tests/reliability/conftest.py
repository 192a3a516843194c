"""The reliability suite's shared parts: its figures, and a log canary scan.

Every log record of the run (in-process apps) goes to one file; at the end
of the run that file and every server log the run wrote are searched for
secrets: the generated keys of every instance folder, the test password,
and whatever canaries the tests planted. Set TESSERA_RELIABILITY_REPORT to a
file path to keep the figures as JSON.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

import pytest
from conftest import World

FIGURES: dict[str, object] = {}
CANARIES: set[str] = {World.password}
RUN_LOG = Path(tempfile.mkstemp(prefix="tessera-reliability-", suffix=".log")[1])
_handler = logging.FileHandler(RUN_LOG, encoding="utf-8")
_handler.setLevel(logging.DEBUG)
_handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))


def _generated_secrets(base: Path) -> set[str]:
    found = set()
    for path in base.rglob("secrets.json"):
        for value in json.loads(path.read_text(encoding="utf-8")).values():
            # Keyrings are "id:key,..."; the key material is what must not leak.
            found.update(part.partition(":")[2] or part for part in value.split(","))
    return found


def _leaks(logs: list[Path], canaries: set[str]) -> list[str]:
    leaks = []
    for path in logs:
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            leaks.extend(f"{path.name}:{number}" for canary in canaries if canary in line)
    return leaks


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_any_log(tmp_path_factory):
    """After the whole run: no log line holds a secret or a planted canary."""
    yield
    _handler.flush()
    base = tmp_path_factory.getbasetemp()
    canaries = {c for c in CANARIES | _generated_secrets(base) if len(c) >= 12}
    logs = [RUN_LOG, *base.rglob("*.log")]
    lines = sum(len(p.read_text(errors="replace").splitlines()) for p in logs)
    leaks = _leaks(logs, canaries)
    FIGURES["log canary scan"] = {"log_files": len(logs), "lines": lines,
                                  "canaries": len(canaries), "leaks": len(leaks)}
    assert not leaks, leaks
    logging.getLogger().removeHandler(_handler)
    _handler.close()
    RUN_LOG.unlink()


@pytest.fixture(autouse=True)
def run_log() -> Path:
    """The run's log file, attached to the root logger for every test.

    Alembic's fileConfig replaces the root logger's handlers whenever
    migrations run, so the handler is put back before each test.
    """
    root = logging.getLogger()
    if _handler not in root.handlers:
        root.addHandler(_handler)
    return RUN_LOG


@pytest.fixture
def canary():
    """Register a value that must never appear in any log of this run."""
    def plant(value: str) -> str:
        CANARIES.add(value)
        return value
    plant.planted = CANARIES
    return plant


@pytest.fixture(scope="session")
def figures() -> dict[str, object]:
    """Name -> value of what the suite measured (examples, rounds, codes seen)."""
    return FIGURES


def pytest_terminal_summary(terminalreporter):
    if not FIGURES:
        return
    terminalreporter.section("reliability figures")
    for name, value in sorted(FIGURES.items()):
        terminalreporter.write_line(f"{name}: {json.dumps(value, sort_keys=True, default=str)}")
    path = os.environ.get("TESSERA_RELIABILITY_REPORT")
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(FIGURES, handle, indent=2, sort_keys=True, default=str)
