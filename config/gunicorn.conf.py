"""gunicorn settings; every value can be overridden from the environment."""

import multiprocessing
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# One process per core, four threads each, chosen by `make bench` on 2 cores: against
# 4 sync workers this served about 2.5 times the refreshes at c=16 and c=64 with a
# lower p99. Threads keep connections alive (sync workers close each one) and
# overlap one request's database round trips with another's Python work.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Several instances run side by side (tests, benchmarks, one host behind a
# proxy); a shared control socket in $HOME would be fought over.
control_socket_disable = True
# Each worker builds its own app (and database pool) after the fork.
preload_app = False
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# The access log would carry client addresses; it is off unless asked for, and
# even then the format leaves the address out.
access_log_format = '%(t)s "%(r)s" %(s)s %(b)s %(L)ss'


# Metrics across workers (core.metrics): every run gets an empty sample folder
# before the first fork, each worker writes its samples there, a scrape sums them.
_made_here = []


def on_starting(server):
    import shutil
    import tempfile

    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        # Samples of an earlier run would be summed into this one's.
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder, mode=0o700)
    else:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="tessera-metrics-")
        _made_here.append(os.environ["PROMETHEUS_MULTIPROC_DIR"])


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    import shutil

    for folder in _made_here:
        shutil.rmtree(folder, ignore_errors=True)
