"""gunicorn settings; every value can be overridden from the environment."""

import multiprocessing
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
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
