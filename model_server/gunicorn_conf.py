"""Gunicorn settings: ``gunicorn -c python:model_server.gunicorn_conf model_server.wsgi:app``.

Two workers (one per core of the target machines) with four threads each: scoring holds the
GIL, so processes give the parallelism and threads hide I/O (prediction log, MLflow polls).
Each worker creates its own app (no preload), so its poller and log-writer threads start after
the fork. Metrics of all workers are aggregated through PROMETHEUS_MULTIPROC_DIR.
"""

from __future__ import annotations

import os
import shutil

from house_prices.settings import SettingsError
from model_server.config import ProcessConfig

try:
    _config = ProcessConfig.from_env()
except SettingsError as exc:
    raise SystemExit(str(exc)) from exc

bind = _config.listeners
# gunicorn's own TLS on every listener when a certificate is given.
certfile = _config.tls_cert or None
keyfile = _config.tls_key or None
workers = _config.workers
threads = _config.threads
worker_class = "gthread"
# Loading a model happens in a background thread, so a request never takes this long.
timeout = _config.timeout
graceful_timeout = _config.graceful_timeout
keepalive = 5
limit_request_line = 8190  # gunicorn's maximum; longer lines get its HTML 400
preload_app = False
accesslog = "-"
errorlog = "-"
loglevel = _config.log_level
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
# gunicorn 26 would otherwise create a control socket under ~/.gunicorn.
control_socket_disable = True
max_requests = 0
proc_name = "model-server"

# Set before any worker imports prometheus_client, so every worker writes shared files.
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_config.metrics_dir)


def on_starting(server) -> None:
    """Start every run with empty metric files (dead workers' files would linger)."""
    directory = _config.metrics_dir
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)


def post_fork(server, worker) -> None:
    """At most two malloc arenas per worker, before its threads start.

    glibc gives each busy thread its own arena (up to 8 per core); with four request threads
    plus the poller and the log writer that fragments the heap and grows every worker's RSS.
    """
    import contextlib
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(-8, _config.malloc_arenas)  # M_ARENA_MAX


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def worker_exit(server, worker) -> None:
    """Flush the prediction log before the worker process ends (graceful stop)."""
    app = getattr(worker.wsgi, "extensions", None) if hasattr(worker, "wsgi") else None
    state = app.get("model_server") if app else None
    if state is not None:
        state.close()
