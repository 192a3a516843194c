"""The README's configuration table matches the settings the code reads; the examples run."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import requests

from config.settings import load_config
from live import ROOT, live_server, server_env
from support import Device


class RecordingEnviron(dict):
    """An environment that remembers every variable the settings look at."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.read: set[str] = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.read.add(key)
        return super().__contains__(key)


def _variables_read(tmp_path) -> set[str]:
    key = "A" * 43
    embedded = RecordingEnviron(TESSERA_INSTANCE_DIR=str(tmp_path / "embedded"))
    load_config(environ=embedded)
    production = RecordingEnviron(
        TESSERA_ENV="production", TESSERA_INSTANCE_DIR=str(tmp_path / "production"),
        TESSERA_SECRET_KEY="s" * 48, TESSERA_PSEUDONYM_KEYS=f"1:{key}",
        TESSERA_VAULT_KEYS=f"v1:{key}", TESSERA_DATABASE_URL="postgresql+psycopg://db/t",
        TESSERA_COMPLIANCE_DATABASE_URL="postgresql+psycopg://db/c",
        TESSERA_REDIS_URL="redis://r:6379/0", TESSERA_TOMBSTONE_PATH=str(tmp_path / "t"))
    load_config(environ=production)
    # The overrides are read only where production would otherwise refuse.
    overridden = RecordingEnviron(production, TESSERA_DATABASE_URL="sqlite:///t.sqlite3",
                                  TESSERA_REDIS_URL="", TESSERA_ALLOW_SQLITE="1",
                                  TESSERA_ALLOW_PROCESS_LOCAL_LIMITS="1")
    load_config(environ=overridden)
    names = {name for name in embedded.read | production.read | overridden.read
             if name.startswith("TESSERA_")}
    # NAME_FILE is documented once, for every secret, above the table.
    return {name for name in names if not name.endswith("_FILE")}


def _documented() -> set[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`(TESSERA_\w+)`", row.split("|")[1])}


def test_every_setting_read_is_in_the_readme_table_and_every_row_is_read(tmp_path):
    read, documented = _variables_read(tmp_path), _documented()
    assert read - documented == set(), "read by the code, missing from README's table"
    assert documented - read == set(), "in README's table, read by nothing"


def test_the_readme_states_gunicorns_real_defaults():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (row,) = [line for line in readme.splitlines() if line.startswith("| `WEB_CONCURRENCY`")]
    assert "cores, 4, 30" in row
    config = (ROOT / "config" / "gunicorn.conf.py").read_text(encoding="utf-8")
    assert 'multiprocessing.cpu_count()' in config and '"GUNICORN_THREADS", "4"' in config


@pytest.mark.slow
def test_the_activation_example_runs_twice_on_one_license(app, migrated, tmp_path, world):
    world.setup(seats=2)
    env = server_env(migrated, tmp_path / "instance")
    with live_server(env, workers=1, log_path=tmp_path / "server.log") as url:
        def example():
            return subprocess.run(
                [sys.executable, str(ROOT / "docs" / "examples" / "activate.py"), url,
                 "alice", world.password], capture_output=True, text=True, timeout=120)

        for _ in range(2):
            run = example()
            assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
            assert "A activates: 201" in run.stdout and "C activates: 201" in run.stdout
        holders = [Device(base_url=url) for _ in range(2)]
        for holder in holders:
            body = holder.activation_body(**world.credentials())
            assert requests.post(url + "/v1/activations", json=body, timeout=30, headers={
                "DPoP": holder.proof("POST", "/v1/activations")}).status_code == 201
        full = example()
        assert full.returncode == 1 and "Traceback" not in full.stderr, full.stderr
        assert "A activates: 409 SEAT_LIMIT_REACHED" in full.stdout
