"""Gunicorn settings: ``gunicorn -c python:model_server.gunicorn_conf model_server.wsgi:app``.

Two workers (one per core of the target machines) with four threads each: scoring holds the
GIL, so processes give the parallelism and threads hide I/O (prediction log, MLflow polls).
Each worker creates its own app (no preload), so its poller and log-writer threads start after
the fork. Metrics of all workers are aggregated through PROMETHEUS_MULTIPROC_DIR.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        return int(raw) if raw else default
    except ValueError as exc:
        raise SystemExit(f"{name}={raw!r} must be an integer") from exc


bind = [os.environ.get("MODEL_SERVER_BIND", "127.0.0.1:8800")]
# A second listener that alone serves /metrics (model_server.auth): the cluster lets only
# Prometheus reach it, so the API port needs no metrics exception.
if _int("MODEL_SERVER_METRICS_PORT", 0):
    bind.append(f"{bind[0].rsplit(':', 1)[0]}:{_int('MODEL_SERVER_METRICS_PORT', 0)}")
# gunicorn's own TLS on every listener when a certificate is given.
certfile = os.environ.get("MODEL_SERVER_TLS_CERT") or None
keyfile = os.environ.get("MODEL_SERVER_TLS_KEY") or None
workers = _int("MODEL_SERVER_WORKERS", 2)
threads = _int("MODEL_SERVER_THREADS", 4)
worker_class = "gthread"
# Loading a model happens in a background thread, so a request never takes this long.
timeout = _int("MODEL_SERVER_TIMEOUT", 60)
graceful_timeout = _int("MODEL_SERVER_GRACEFUL_TIMEOUT", 30)
keepalive = 5
limit_request_line = 8190  # gunicorn's maximum; longer lines get its HTML 400
preload_app = False
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("MODEL_SERVER_LOG_LEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
# gunicorn 26 would otherwise create a control socket under ~/.gunicorn.
control_socket_disable = True
max_requests = 0
proc_name = "model-server"

# Set before any worker imports prometheus_client, so every worker writes shared files.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _state = Path(os.environ.get("MODEL_SERVER_STATE_DIR", ".state/model_server"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_state.resolve() / "prometheus")


def on_starting(server) -> None:
    """Start every run with empty metric files (dead workers' files would linger)."""
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
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
        ctypes.CDLL("libc.so.6").mallopt(-8, _int("MODEL_SERVER_MALLOC_ARENAS", 2))  # M_ARENA_MAX


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def worker_exit(server, worker) -> None:
    """Flush the prediction log before the worker process ends (graceful stop)."""
    app = getattr(worker.wsgi, "extensions", None) if hasattr(worker, "wsgi") else None
    state = app.get("model_server") if app else None
    if state is not None:
        state.close()
