"""Real servers for tests and benchmarks: started on free loopback ports, waited for, stopped
with their process group."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import requests

BIN = Path(sys.executable).parent
T = TypeVar("T")

#: Interval 0: every call hands out the next batch; prices up 60 % a batch, so the second
#: batch drifts against the first.
DRIFTING_BATCHES = {
    "rows_per_batch": 4000,
    "batches_per_day": 3,
    "min_interval_seconds": 0,
    "drift_price_per_batch": 0.6,
}


def one_batch_a_day(rows: int) -> dict[str, int]:
    """Emulator settings for the benchmarks: one batch of ``rows`` a day, no early next batch."""
    return {"rows_per_batch": rows, "batches_per_day": 1, "min_interval_seconds": 3600}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], T], timeout: float, interval: float = 0.2) -> T:
    """Call ``predicate`` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"condition not met within {timeout} s")


def _tail(log: Path | None) -> str:
    return f":\n{log.read_text(errors='replace')[-3000:]}" if log and log.exists() else ""


def wait_http(
    url: str,
    timeout: float,
    process: subprocess.Popen | None = None,
    log: Path | None = None,
    verify: str | bool = True,
) -> None:
    """Wait until ``url`` answers 200; fail early, with the log's tail, if ``process`` exits.

    ``verify``: a CA file for an https ``url`` (as requests takes it)."""

    def healthy() -> bool:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: server exited {process.returncode}{_tail(log)}")
        with contextlib.suppress(requests.RequestException):
            return requests.get(url, timeout=2, verify=verify).status_code == 200
        return False

    try:
        wait_for(healthy, timeout, interval=0.3)
    except TimeoutError:
        raise TimeoutError(f"{url} not healthy within {timeout} s{_tail(log)}") from None


def start(
    command: list[str],
    log: Path,
    env: dict | None = None,
    cwd: Path | None = None,
    unset: tuple[str, ...] = (),
) -> subprocess.Popen:
    """Start ``command`` in its own process group, output appended to ``log``; its environment
    is this one plus ``env``, without the variables named in ``unset``."""
    environment = {**os.environ, **(env or {})}
    for name in unset:
        environment.pop(name, None)
    with log.open("ab") as handle:
        return subprocess.Popen(
            command,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=cwd,
            start_new_session=True,
        )


def stop_process(process: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM the process group the process leads; SIGKILL it after ``timeout``."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
    except ProcessLookupError:
        pass


@contextlib.contextmanager
def serve(
    command: list[str], health_url: str, log: Path, env: dict | None = None, timeout: float = 90
) -> Iterator[subprocess.Popen]:
    """Run ``command`` until the block ends, once ``health_url`` answers."""
    process = start(command, log, env)
    try:
        wait_http(health_url, timeout, process, log)
        yield process
    finally:
        stop_process(process)


@contextlib.contextmanager
def mlflow_server(workdir: Path) -> Iterator[str]:
    """``mlflow server`` on SQLite and a local artifact directory (``workdir/art``); its URL."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    command = [
        str(BIN / "mlflow"),
        "server",
        "--backend-store-uri",
        f"sqlite:///{workdir}/mlflow.db",
        "--artifacts-destination",
        str(workdir / "art"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    url = f"http://127.0.0.1:{port}"
    env = {
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",  # no idle job workers (2 GB)
    }
    with serve(command, f"{url}/health", workdir / "mlflow.log", env, timeout=120):
        yield url


@contextlib.contextmanager
def s3_server(workdir: Path) -> Iterator[str]:
    """moto's S3-compatible server (in memory): what the minio client talks to in tests."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{port}"
    with serve(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        f"{url}/moto-api/",
        workdir / "moto.log",
    ):
        yield url


def gunicorn_command(app: str, port: int, workers: int = 1, timeout: int = 120) -> list[str]:
    """gunicorn serving ``app`` on a loopback port (no control socket under ~/.gunicorn)."""
    return [
        str(BIN / "gunicorn"),
        "--no-control-socket",
        "--workers",
        str(workers),
        "--threads",
        "4",
        "--timeout",
        str(timeout),
        "--bind",
        f"127.0.0.1:{port}",
        app,
    ]


@contextlib.contextmanager
def emulator(workdir: Path, timeout: int = 120, **settings: object) -> Iterator[str]:
    """The data API emulator under gunicorn (one worker: its batch sequence is in-process
    state); ``settings`` are EmulatorConfig fields. Yields its URL."""
    port = free_port()
    env = {f"DATA_API_EMULATOR_{key.upper()}": str(value) for key, value in settings.items()}
    command = gunicorn_command("data_api_emulator.app:create_app()", port, timeout=timeout)
    url = f"http://127.0.0.1:{port}"
    with serve(command, f"{url}/health", workdir / "emulator.log", env):
        yield url
