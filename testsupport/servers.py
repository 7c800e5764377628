"""Real servers for tests: started on free loopback ports, stopped with their process group."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{url}: server exited {process.returncode}:\n{log.read_text()[-3000:]}"
            )
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(f"{url} not healthy within {timeout} s:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def serve(
    command: list[str], health_url: str, log: Path, env: dict | None = None, timeout: float = 90
) -> Iterator[subprocess.Popen]:
    """Run ``command`` in its own process group until the block ends."""
    with log.open("w") as handle:
        process = subprocess.Popen(
            command,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    try:
        wait_for(health_url, process, log, timeout)
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextlib.contextmanager
def mlflow_server(workdir: Path) -> Iterator[str]:
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
    env = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
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
