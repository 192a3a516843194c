"""The service runs without the desktop client distribution installed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = r"""
import importlib, importlib.abc, pkgutil, sys

class RefuseClient(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "tessera_client":
            raise ImportError("the service imported " + name)
        return None

sys.meta_path.insert(0, RefuseClient())
import licensing
names = [m.name for m in pkgutil.walk_packages(licensing.__path__, "licensing.")]
for name in names:
    importlib.import_module(name)
print(len(names), "licensing.activation.offline_files" in names)
"""


def test_every_service_module_imports_with_the_client_refused():
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, check=False)

    assert result.returncode == 0, result.stderr
    count, found_offline_files = result.stdout.split()
    assert int(count) > 20 and found_offline_files == "True"
