"""A throwaway PostgreSQL cluster (initdb/pg_ctl) on a free port, for outage tests.

The machine's shared server is never touched: this cluster lives in its own
temporary folder and is stopped and removed at the end, even on failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

from live import free_port

AVAILABLE = bool(shutil.which("initdb") and shutil.which("pg_ctl"))


def _as_owner(command: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; run them as the postgres user then.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


class Cluster:
    """One PostgreSQL server in a folder of its own."""

    def __init__(self, folder: Path, port: int):
        self.folder = folder
        self.port = port
        self.data = folder / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(_as_owner(["pg_ctl", "-D", str(self.data), *args]), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        self._pg_ctl("-o", options, "-l", str(self.folder / "server.log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("-m", mode, "-w", "stop")

    def running(self) -> bool:
        status = subprocess.run(_as_owner(["pg_ctl", "-D", str(self.data), "status"]),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return status.returncode == 0


@contextmanager
def throwaway_cluster():
    """Create, start, yield, then stop and delete a cluster."""
    folder = Path(tempfile.mkdtemp(prefix="tessera-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, user="postgres", group="postgres")
    cluster = Cluster(folder, free_port())
    try:
        subprocess.run(_as_owner(["initdb", "-D", str(cluster.data), "-U", "postgres",
                                  "-A", "trust", "--no-sync"]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=120)
        cluster.start()
        yield cluster
    finally:
        if cluster.running():
            cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)
