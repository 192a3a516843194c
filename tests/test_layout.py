"""The layout's rules: licensing -> privacy -> core, never back, and no view imports another domain's view."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import core
import privacy

ROOT = Path(__file__).resolve().parents[1]
DOMAINS = sorted(p.name for p in (ROOT / "licensing").iterdir()
                 if p.is_dir() and (p / "__init__.py").exists())


def _loaded_after_importing(package, forbidden: tuple[str, ...]) -> list[str]:
    modules = sorted(f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__))
    script = ("import importlib, sys\n"
              f"for name in {modules!r}:\n"
              "    importlib.import_module(name)\n"
              f"print(sorted(m for m in sys.modules if m.split('.')[0] in {forbidden!r}))\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    return result.stdout.strip()


def test_privacy_imports_no_licensing_module():
    assert {"purposes", "audit", "retention", "erasure", "providers", "geo", "logging", "cli",
            "views", "models", "vault"} <= {m.name for m in pkgutil.iter_modules(privacy.__path__)}
    assert _loaded_after_importing(privacy, ("licensing",)) == "[]"


def test_core_imports_neither_privacy_nor_licensing():
    assert {"database", "errors", "http", "schemas", "encoding", "tokens", "cli", "ratelimit",
            "health"} <= {m.name for m in pkgutil.iter_modules(core.__path__)}
    assert _loaded_after_importing(core, ("licensing", "privacy")) == "[]"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_every_domain_is_a_package_of_its_own():
    assert {"accounts", "activation", "admin", "catalog", "signing", "support"} <= set(DOMAINS)


def test_no_view_imports_another_domains_view():
    offending = []
    for domain in DOMAINS:
        for path in (ROOT / "licensing" / domain).glob("*.py"):
            for name in _imported_modules(path):
                parts = name.split(".")
                if (len(parts) >= 3 and parts[0] == "licensing" and parts[2] == "views"
                        and parts[1] != domain and path.name == "views.py"):
                    offending.append(f"{path.relative_to(ROOT)} imports {name}")
                if name == "privacy.views" and path.name == "views.py":
                    offending.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offending == []
