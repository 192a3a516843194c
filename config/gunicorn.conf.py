"""gunicorn settings; every value can be overridden from the environment."""

import multiprocessing
import os

from config.gunicorn_edge import AddressFreeLogger, JsonErrorsSyncWorker, JsonErrorsThreadWorker

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# One process per core, four threads each, chosen by `make bench` on 2 cores: against
# 4 sync workers this served about 2.5 times the refreshes at c=16 and c=64 with a
# lower p99. Threads keep connections alive (sync workers close each one) and
# overlap one request's database round trips with another's Python work.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# gunicorn's own workers, answering what they refuse themselves (a request line
# or header over the limits below, a request that is not HTTP) in the one JSON
# error shape instead of an HTML page.
worker_class = JsonErrorsThreadWorker if threads > 1 else JsonErrorsSyncWorker
# The largest request line gunicorn allows (414 beyond): the longest URL the
# API has is far shorter. Headers: at most 100, each up to 8 KiB (431 beyond),
# room for a DPoP proof (at most 4 KiB) and a bearer token together.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
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
# No client address reaches the error log: gunicorn's own messages pass the
# same redacting filter as the application's.
logger_class = AddressFreeLogger
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

    from config.settings import load_config, start_or_exit

    # A refused configuration stops the master with one line and status 2, before any
    # worker boots (a worker's failure would only be retried).
    start_or_exit(load_config)

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
