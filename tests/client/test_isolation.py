"""The client ships alone: no Flask, no SQLAlchemy, nothing from the server side of licensing."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

CLIENT_DIR = Path(__file__).resolve().parents[2] / "licensing" / "client"
ALLOWED_THIRD_PARTY = {"cryptography", "jwt", "requests"}
SERVER_SIDE = [
    "flask",
    "flask_sqlalchemy",
    "flask_migrate",
    "flask_smorest",
    "limits",
    "sqlalchemy",
    "alembic",
    "marshmallow",
    "werkzeug",
    "argon2",
    "psycopg",
    "redis",
    "config",
    "privacy",
    "wsgi",
]

PROBE = r"""
import importlib, importlib.abc, json, pkgutil, sys

VENDOR, SERVER_SIDE = sys.argv[1], set(json.loads(sys.argv[2]))

class RefuseServerSide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        ours = name == "licensing" or name.startswith("licensing.client")
        if top in SERVER_SIDE or (top == "licensing" and not ours):
            raise ImportError("the client imported " + name)
        return None

sys.meta_path.insert(0, RefuseServerSide())
sys.path.insert(0, VENDOR)
import licensing.client as client
for module in pkgutil.iter_modules(client.__path__):
    importlib.import_module("licensing.client." + module.name)

# Use it, so lazily imported code paths run too.
key = client.DeviceKey.generate()
client.make_proof(key, "GET", "https://tessera.test/v1/keys", now=1800000000)
text = client.build_activation_request(
    key.private_key, product="numflo", fingerprint="f" * 64, issued_at=1800000000
)
assert client.parse_activation_request(text).thumbprint == key.thumbprint
client.cli.build_parser()
print(json.dumps({"file": client.__file__, "modules": sorted(sys.modules)}))
"""


def test_client_package_runs_alone_with_server_modules_refused(tmp_path):
    vendor = tmp_path / "vendor"
    shutil.copytree(
        CLIENT_DIR, vendor / "licensing" / "client", ignore=shutil.ignore_patterns("__pycache__")
    )
    (vendor / "licensing" / "__init__.py").write_text("")  # what a product ships beside the client

    result = subprocess.run(
        [sys.executable, "-I", "-W", "error", "-c", PROBE, str(vendor), json.dumps(SERVER_SIDE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["file"].startswith(str(vendor))
    loaded_tops = {name.split(".")[0] for name in report["modules"]}
    assert loaded_tops.isdisjoint(SERVER_SIDE)
    assert {name for name in report["modules"] if name.startswith("licensing")} >= {
        "licensing.client.cli"
    }
    assert all(
        name == "licensing" or name.startswith("licensing.client")
        for name in report["modules"]
        if name.split(".")[0] == "licensing"
    )


def test_client_sources_import_only_the_standard_library_and_three_packages():
    offenders = []
    for source in sorted(CLIENT_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
            for name in _absolute_imports(node):
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ALLOWED_THIRD_PARTY:
                    offenders.append(f"{source.name}: {name}")
    assert offenders == []


def test_offline_formats_need_no_network_library():
    tree = ast.parse((CLIENT_DIR / "offline.py").read_text())
    imported = {name.split(".")[0] for node in ast.walk(tree) for name in _absolute_imports(node)}
    relative = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level
    }
    assert "requests" not in imported and "socket" not in imported
    assert relative <= {"errors", "fingerprint", "jwk"}, (
        "the service imports offline.py: keep it pure"
    )


def _absolute_imports(node: ast.AST) -> list[str]:
    """Names of modules an import statement loads by absolute name."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module]
    return []
