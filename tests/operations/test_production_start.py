"""Production refuses unsafe settings: weak secrets, SQLite, per-process limits, no tombstone path.

A refusal is one line on stderr and exit status 2, from `flask` and from gunicorn alike.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import ConfigurationError, load_config
from live import ROOT, free_port

KEY = "A" * 43


def production(tmp_path: Path, **changes) -> dict:
    """A production environment that starts; CHANGES set (or, with None, remove) variables."""
    environ = {
        "TESSERA_ENV": "production", "TESSERA_INSTANCE_DIR": str(tmp_path / "instance"),
        "TESSERA_SECRET_KEY": "s" * 48, "TESSERA_PSEUDONYM_KEYS": f"1:{KEY}",
        "TESSERA_VAULT_KEYS": f"v1:{KEY}",
        "TESSERA_DATABASE_URL": "postgresql+psycopg://db/tessera",
        "TESSERA_COMPLIANCE_DATABASE_URL": "postgresql+psycopg://db/compliance",
        "TESSERA_REDIS_URL": "redis://redis:6379/0",
        "TESSERA_TOMBSTONE_PATH": str(tmp_path / "shared" / "tombstones.jsonl"),
    }
    environ.update(changes)
    return {k: v for k, v in environ.items() if v is not None}


def refusal(environ: dict) -> str:
    with pytest.raises(ConfigurationError) as refused:
        load_config(environ=environ)
    return str(refused.value)


def test_a_complete_production_environment_starts(tmp_path):
    config = load_config(environ=production(tmp_path))
    assert config["TESSERA_RATELIMIT_STORAGE_URI"] == "redis://redis:6379/0"
    assert config["TESSERA_TOMBSTONE_PATH"] == str(tmp_path / "shared" / "tombstones.jsonl")


def test_production_refuses_a_secret_key_under_32_bytes(tmp_path):
    assert "at least 32 bytes" in refusal(production(tmp_path, TESSERA_SECRET_KEY="abcde"))
    assert "TESSERA_SECRET_KEY" in refusal(production(tmp_path, TESSERA_SECRET_KEY="x" * 31))
    assert load_config(environ=production(tmp_path, TESSERA_SECRET_KEY="x" * 32))


@pytest.mark.parametrize("name", ["TESSERA_DATABASE_URL", "TESSERA_COMPLIANCE_DATABASE_URL"])
def test_production_refuses_sqlite_unless_told_and_then_warns(tmp_path, caplog, name):
    sqlite = {name: f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    message = refusal(production(tmp_path, **sqlite))
    assert name in message and "TESSERA_ALLOW_SQLITE" in message
    with caplog.at_level(logging.WARNING, logger="tessera.config"):
        config = load_config(environ=production(tmp_path, TESSERA_ALLOW_SQLITE="1", **sqlite))
    assert config["SQLALCHEMY_DATABASE_URI"].startswith(("sqlite", "postgresql"))
    assert "production runs on SQLite" in caplog.text and name in caplog.text


def test_production_refuses_per_process_limits_unless_told(tmp_path, caplog):
    message = refusal(production(tmp_path, TESSERA_REDIS_URL=None))
    assert "rate-limit storage" in message and "TESSERA_ALLOW_PROCESS_LOCAL_LIMITS" in message
    assert "TESSERA_ALLOW_PROCESS_LOCAL_LIMITS" in refusal(
        production(tmp_path, TESSERA_RATELIMIT_STORAGE_URI="memory://"))
    with caplog.at_level(logging.WARNING, logger="tessera.config"):
        config = load_config(environ=production(
            tmp_path, TESSERA_REDIS_URL=None, TESSERA_ALLOW_PROCESS_LOCAL_LIMITS="1"))
    assert config["TESSERA_RATELIMIT_STORAGE_URI"] == "memory://"
    assert "counted per process" in caplog.text


def test_production_accepts_a_database_as_shared_limit_storage(tmp_path):
    config = load_config(environ=production(
        tmp_path, TESSERA_REDIS_URL=None,
        TESSERA_RATELIMIT_STORAGE_URI="postgresql+psycopg://db/ratelimits"))
    assert config["TESSERA_RATELIMIT_STORAGE_URI"] == "postgresql+psycopg://db/ratelimits"


def test_production_needs_a_configured_tombstone_path(tmp_path):
    message = refusal(production(tmp_path, TESSERA_TOMBSTONE_PATH=None))
    assert "TESSERA_TOMBSTONE_PATH" in message
    embedded = load_config(environ={"TESSERA_INSTANCE_DIR": str(tmp_path / "embedded")})
    assert embedded["TESSERA_TOMBSTONE_PATH"].endswith("tombstones.jsonl")


def test_the_embedded_default_counts_limits_in_a_shared_file(tmp_path):
    config = load_config(environ={"TESSERA_INSTANCE_DIR": str(tmp_path)})
    assert config["TESSERA_RATELIMIT_STORAGE_URI"] == f"sqlite:///{tmp_path / 'ratelimit.sqlite3'}"


def _clean_env(**values: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    env.update(values)
    return env


def _assert_one_line_refusal(result: subprocess.CompletedProcess, fragment: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if "refusing to start" in line]
    assert len(lines) == 1 and fragment in lines[0], result.stderr


def test_flask_refuses_with_one_line_and_status_2(tmp_path):
    env = _clean_env(**production(tmp_path, TESSERA_SECRET_KEY="short"))
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "current"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    _assert_one_line_refusal(result, "TESSERA_SECRET_KEY must be at least 32 bytes")


@pytest.mark.slow
def test_gunicorn_refuses_with_one_line_and_status_2(tmp_path):
    env = _clean_env(**production(tmp_path, TESSERA_TOMBSTONE_PATH=None),
                     HOST="127.0.0.1", PORT=str(free_port()), WEB_CONCURRENCY="1")
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "config" / "gunicorn.conf.py"),
         "wsgi:app"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    _assert_one_line_refusal(result, "TESSERA_TOMBSTONE_PATH")
    assert "Booting worker" not in result.stderr
