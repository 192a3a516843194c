"""privacy never imports licensing: the product registers with the engine, not the reverse."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import privacy

ROOT = Path(__file__).resolve().parents[2]


def test_importing_every_privacy_module_imports_no_licensing_module():
    modules = sorted(f"privacy.{m.name}" for m in pkgutil.iter_modules(privacy.__path__))
    assert {"privacy.purposes", "privacy.audit", "privacy.retention", "privacy.erasure",
            "privacy.providers", "privacy.geo", "privacy.logging", "privacy.cli",
            "privacy.views", "privacy.models", "privacy.vault"} <= set(modules)
    script = ("import importlib, sys\n"
              f"for name in {modules!r}:\n"
              "    importlib.import_module(name)\n"
              "print(sorted(m for m in sys.modules if m == 'licensing' "
              "or m.startswith('licensing.')))\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout
