"""The reliability suite's figures: kept per run, shown at the end of the run.

Set TESSERA_RELIABILITY_REPORT to a file path to keep them as JSON too.
"""

from __future__ import annotations

import json
import os

import pytest

from licensing import create_app
from licensing.extensions import db

FIGURES: dict[str, object] = {}


@pytest.fixture(scope="session")
def figures() -> dict[str, object]:
    """Name -> value of what the suite measured (examples, rounds, codes seen)."""
    return FIGURES


@pytest.fixture
def build_app(app_config):
    """create_app on the test's config; every pooled connection closed afterwards."""
    built = []

    def build(**overrides):
        application = create_app({**app_config, **overrides})
        built.append(application)
        return application

    yield build
    for application in built:
        with application.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


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
