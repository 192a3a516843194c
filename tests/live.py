"""A live Tessera under gunicorn on a free port, for tests that need real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(database_urls: dict, instance_dir: Path, **extra: str) -> dict:
    """Environment for a server on the test databases (secrets generated in INSTANCE_DIR)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    env.update({
        "TESSERA_ENV": "testing",
        "TESSERA_INSTANCE_DIR": str(instance_dir),
        "TESSERA_DATABASE_URL": database_urls["default"],
        "TESSERA_COMPLIANCE_DATABASE_URL": database_urls["compliance"],
        **extra,
    })
    return env


@contextmanager
def live_server(env: dict, *, workers: int = 3, log_path: Path | None = None,
                timeout: float = 120.0):
    """Run gunicorn with config/gunicorn.conf.py; yield its base URL; stop it after."""
    with live_gunicorn(env, workers=workers, log_path=log_path, timeout=timeout) as (url, _):
        yield url


@contextmanager
def live_gunicorn(env: dict, *, workers: int = 3, log_path: Path | None = None,
                  timeout: float = 120.0):
    """Run gunicorn with config/gunicorn.conf.py; yield (base URL, process); stop it after.

    The server runs in a process group of its own, so a test can kill it whole
    (master and workers) with os.killpg, as a crashed host would go.
    """
    port = free_port()
    env = dict(env, HOST="127.0.0.1", PORT=str(port), WEB_CONCURRENCY=str(workers))
    log = open(log_path or os.devnull, "ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "config" / "gunicorn.conf.py"),
         "wsgi:app"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(process, base_url, timeout)
        yield base_url, process
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def wait_until_healthy(process: subprocess.Popen, base_url: str, timeout: float) -> None:
    """Return once BASE_URL/healthz answers 200; fail if PROCESS exits or TIMEOUT passes."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        try:
            if requests.get(base_url + "/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{base_url} did not become ready")
        time.sleep(0.1)
