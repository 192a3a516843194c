"""The desktop client is a distribution of its own: three dependencies, no server code."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import tessera_client

CLIENT_PROJECT = Path(__file__).resolve().parents[2] / "clients" / "python"
CLIENT_DIR = CLIENT_PROJECT / "tessera_client"
# Import name -> distribution name of everything the client may use beyond the standard library.
THIRD_PARTY = {"cryptography": "cryptography", "jwt": "pyjwt", "requests": "requests"}
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
    "gunicorn",
    "prometheus_client",
    "iptocc",
    "maxminddb",
    "core",
    "licensing",
    "privacy",
    "config",
    "wsgi",
]

PROBE = r"""
import importlib, importlib.abc, json, pkgutil, sys

SERVER_SIDE = set(json.loads(sys.argv[1]))

class RefuseServerSide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in SERVER_SIDE:
            raise ImportError("the client imported " + name)
        return None

sys.meta_path.insert(0, RefuseServerSide())
import tessera_client as client
for module in pkgutil.iter_modules(client.__path__):
    importlib.import_module("tessera_client." + module.name)

# Use it, so lazily imported code paths run too.
key = client.DeviceKey.generate()
client.make_proof(key, "GET", "https://tessera.test/v1/keys", now=1800000000)
client.build_activation_request(
    key.private_key, product="numflo", fingerprint="f" * 64, issued_at=1800000000
)
client.cli.build_parser()
print(json.dumps({"file": client.__file__, "modules": sorted(sys.modules)}))
"""


def _requirement_names(requirements: list[str]) -> set[str]:
    """Normalised distribution names (PEP 503) of requirement strings."""
    names = {re.match(r"[A-Za-z0-9._-]+", line).group(0) for line in requirements}
    return {re.sub(r"[-_.]+", "-", name).lower() for name in names}


def test_importing_the_client_loads_no_server_side_module():
    # -I: no current directory and no PYTHONPATH, so only the installed distribution is found.
    result = subprocess.run(
        [sys.executable, "-I", "-W", "error", "-c", PROBE, json.dumps(SERVER_SIDE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert Path(report["file"]).parent == CLIENT_DIR
    loaded_tops = {name.split(".")[0] for name in report["modules"]}
    assert loaded_tops.isdisjoint(SERVER_SIDE)
    assert {"tessera_client.cli", "tessera_client.offline", "jwt", "requests"} <= set(
        report["modules"]
    )


def test_the_client_project_declares_exactly_its_three_dependencies():
    project = tomllib.loads((CLIENT_PROJECT / "pyproject.toml").read_text())["project"]

    assert project["name"] == "tessera-client"
    assert _requirement_names(project["dependencies"]) == set(THIRD_PARTY.values())
    assert "optional-dependencies" not in project
    assert project["scripts"] == {"tessera-client": "tessera_client.cli:main"}


def test_the_tests_use_the_installed_client_distribution():
    installed = importlib.metadata.distribution("tessera-client")
    declared = tomllib.loads((CLIENT_PROJECT / "pyproject.toml").read_text())["project"]

    assert Path(tessera_client.__file__).parent == CLIENT_DIR
    assert _requirement_names(installed.requires or []) == _requirement_names(
        declared["dependencies"]
    )
    scripts = {ep.name: ep.value for ep in installed.entry_points if ep.group == "console_scripts"}
    assert scripts == {"tessera-client": "tessera_client.cli:main"}
    server_scripts = importlib.metadata.distribution("tessera").entry_points
    assert "tessera-client" not in {ep.name for ep in server_scripts}


def test_client_sources_import_only_the_standard_library_and_the_three_packages():
    offenders, used = [], set()
    for source in sorted(CLIENT_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
            for name in _absolute_imports(node):
                top = name.split(".")[0]
                if top in THIRD_PARTY:
                    used.add(top)
                elif top not in sys.stdlib_module_names:
                    offenders.append(f"{source.name}: {name}")
    assert offenders == []
    assert used == set(THIRD_PARTY), "a declared dependency the client no longer imports"


def test_offline_formats_need_no_network_library():
    tree = ast.parse((CLIENT_DIR / "offline.py").read_text())
    imported = {name.split(".")[0] for node in ast.walk(tree) for name in _absolute_imports(node)}
    relative = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level
    }
    assert "requests" not in imported and "socket" not in imported
    assert relative <= {"errors", "fingerprint", "jwk"}, "offline files are made with no network"


def _absolute_imports(node: ast.AST) -> list[str]:
    """Names of modules an import statement loads by absolute name."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module]
    return []
