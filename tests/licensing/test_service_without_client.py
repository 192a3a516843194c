"""The service runs without the desktop client distribution installed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = r"""
import importlib, importlib.abc, json, pkgutil, sys

class RefuseClient(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "tessera_client":
            raise ImportError("the service imported " + name)
        return None

sys.meta_path.insert(0, RefuseClient())
names = []
for package in ("core", "privacy", "licensing"):
    path = importlib.import_module(package).__path__
    names += [m.name for m in pkgutil.walk_packages(path, package + ".")]
for name in names:
    importlib.import_module(name)
print(json.dumps(names))
"""


def test_every_service_module_imports_with_the_client_refused():
    """core, privacy and licensing: everything wsgi.py can reach."""
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, check=False)

    assert result.returncode == 0, result.stderr
    imported = set(json.loads(result.stdout))
    assert {"core.http", "privacy.vault", "licensing.app",
            "licensing.activation.offline", "licensing.activation.offline_files"} <= imported
