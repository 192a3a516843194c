"""Databases, gunicorn servers and wrk runs for the benchmark."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import psycopg

from bench.common import PG_ADMIN_URL, PYTHON, RESULTS, ROOT, database_url

LUA = ROOT / "bench" / "requests.lua"
GUNICORN_CONF = ROOT / "config" / "gunicorn.conf.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def recreate_databases(backend: str, names: list[str]) -> None:
    """Drop and create NAMES (PostgreSQL) or remove their files (SQLite)."""
    if backend == "postgresql":
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
            for name in names:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                connection.execute(f'CREATE DATABASE "{name}"')
        return
    folder = RESULTS / "sqlite"
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        for suffix in ("", "-wal", "-shm"):
            (folder / f"{name}.sqlite3{suffix}").unlink(missing_ok=True)


def drop_databases(names: list[str]) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        for name in names:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def service_env(base: dict, backend: str, database: str, compliance: str,
                instance: Path) -> dict:
    """The environment of a Tessera process on DATABASE (production profile)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    env.update(base)
    env.update({
        "TESSERA_ENV": "production",
        "TESSERA_DATABASE_URL": database_url(backend, database),
        "TESSERA_COMPLIANCE_DATABASE_URL": database_url(backend, compliance),
        "TESSERA_INSTANCE_DIR": str(instance),
        "GUNICORN_LOG_LEVEL": "warning",
        # One client address sends every request here; attempt limits would refuse the waves.
        "TESSERA_RATELIMIT_ADDRESS_ATTEMPTS": "100000000 per minute",
        "TESSERA_RATELIMIT_ACCOUNT_ATTEMPTS": "100000000 per minute",
        "TESSERA_RATELIMIT_ACCOUNT_FAILURES": "100000000 per hour",
        "TESSERA_RATELIMIT_CODE_FAILURES": "100000000 per hour",
        # The activation waves put thousands of new devices a minute on 200 licenses,
        # which is seat churn by definition: recording it on nearly every activation
        # would time the recorder, not activation (the foreign-key row times recording).
        "TESSERA_CHURN_THRESHOLD": "100000000",
        # What production requires: shared attempt counters (in the service's own
        # database, the store a deployment without Redis has) and a tombstone file.
        "TESSERA_RATELIMIT_STORAGE_URI": database_url(backend, database),
        "TESSERA_TOMBSTONE_PATH": str(instance / "tombstones.jsonl"),
    })
    if backend == "sqlite":
        # The single-host profile; counters in a file of their own, not behind the
        # database's write lock.
        env["TESSERA_ALLOW_SQLITE"] = "1"
        env["TESSERA_RATELIMIT_STORAGE_URI"] = f"sqlite:///{instance / 'ratelimit.sqlite3'}"
    instance.mkdir(parents=True, exist_ok=True)
    return env


def flask(env: dict, *args: str) -> str:
    """Run `flask --app wsgi ARGS` and return its stdout."""
    done = subprocess.run([str(Path(PYTHON).parent / "flask"), "--app", "wsgi", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done.stdout


class Server:
    """One gunicorn with config/gunicorn.conf.py serving APP."""

    def __init__(self, app: str, env: dict, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._env = dict(env, HOST="127.0.0.1", PORT=str(self.port))
        self._app, self._log = app, log
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> "Server":
        self._log.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self._log, "ab")
        self.process = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "-c", str(GUNICORN_CONF), self._app], cwd=ROOT,
            env=self._env, stdout=handle, stderr=subprocess.STDOUT)
        handle.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self._app} exited; see {self._log}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self._app} did not answer within {timeout} s")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


@contextmanager
def running(*servers: Server):
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


def wrk(url: str, prefix: Path, concurrency: int, seconds: float) -> dict:
    """Run wrk with the request files at PREFIX; return its numbers."""
    threads = min(2, concurrency)
    command = ["wrk", "-t", str(threads), "-c", str(concurrency), "-d", f"{max(1, round(seconds))}s",
               "--timeout", "10s", "-s", str(LUA), url]
    done = subprocess.run(command, env=dict(os.environ, BENCH_REQUESTS=str(prefix)),
                          capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            result = json.loads(line.removeprefix("BENCH_RESULT "))
            seconds_run = result["duration_us"] / 1e6
            errors = sum(result[k] for k in ("non_2xx", "connect_errors", "read_errors",
                                             "write_errors", "timeouts"))
            result["rps"] = (result["requests"] - errors) / seconds_run if seconds_run else 0.0
            result["errors"] = errors
            return result
    raise RuntimeError(f"wrk gave no result:\n{done.stdout}\n{done.stderr}")


def wrk_available() -> bool:
    return shutil.which("wrk") is not None
