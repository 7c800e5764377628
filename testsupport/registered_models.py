"""Start a real MLflow server and register house-price versions through the pipeline's steps.

Shared by the model-server tests and the benchmark. Everything listens on loopback, on ports
the OS hands out.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import requests

from house_prices import keys
from house_prices import pipeline as steps
from house_prices.settings import Settings
from house_prices.storage import open_store, write_parquet
from house_prices.training import TrainingConfig

STATES = ("Texas", "Ohio", "Puerto Rico")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} not healthy after {timeout} s")


def start_mlflow(workdir: Path, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """``mlflow server`` on SQLite + a local artifact directory; returns (process, url)."""
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    command = [
        str(Path(sys.executable).parent / "mlflow"), "server",
        "--backend-store-uri", f"sqlite:///{workdir}/mlflow.db",
        "--artifacts-destination", str(workdir / "artifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    log = (workdir / "mlflow.log").open("ab")
    env = {
        **os.environ,
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }  # no idle job workers (2 GB)
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/health", 90, process)
    except Exception:
        stop_process(process)
        raise
    return process, url


def stop_process(process: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM the process group the process leads (it was started in a new session)."""
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


def raw_batch(rows: int, seed: int, shift: float = 1.0) -> pd.DataFrame:
    """A raw batch shaped like the data API's: every column a string."""
    rng = np.random.default_rng(seed)
    size = rng.integers(500, 4000, rows).astype(float)
    bed = rng.integers(1, 6, rows)
    price = size * 180 * shift * (1 + 0.1 * bed) * rng.lognormal(0, 0.15, rows)
    return pd.DataFrame(
        {
            "brokered_by": "1.0",
            "status": rng.choice(["for_sale", "sold"], rows),
            "price": price.astype(str),
            "bed": bed.astype(str),
            "bath": rng.integers(1, 4, rows).astype(str),
            "acre_lot": rng.random(rows).round(3).astype(str),
            # One address per row, different for every seed: each row is its own listing.
            "street": (seed * 1_000_000 + np.arange(rows)).astype(str),
            "city": "c",
            "state": rng.choice(STATES, rows),
            "zip_code": "601",
            "house_size": size.astype(str),
            "prev_sold_date": "",
        }
    ).astype("string")


def register_versions(
    settings: Settings,
    count: int = 2,
    rows: int = 3000,
    params: dict | None = None,
    group: int = 5,
    day: str = "Tuesday",
    make_batch: Callable[..., pd.DataFrame] = raw_batch,
) -> list[str]:
    """Train ``count`` versions on growing sets of synthetic batches; the first becomes champion.

    Later versions are registered but the alias is left alone (tests move it themselves).
    ``make_batch(rows, seed=, shift=)`` makes each raw batch (default :func:`raw_batch`).
    """
    config = steps.PipelineConfig(
        training=TrainingConfig(params=params or {"n_estimators": 20, "max_depth": 8})
    )
    store = open_store(settings)
    versions, raw_keys = [], []
    for index in range(count):
        key = keys.raw_key(group, day, index + 1)
        write_parquet(store, key, make_batch(rows, seed=index + 1, shift=1.0 + 0.3 * index))
        raw_keys.append(key)
        cleaned = steps.clean_batches(settings, raw_keys, config)
        drift = steps.check_drift(settings, cleaned["latest_clean_key"], config)
        trained = steps.train(
            settings, group, day, cleaned["clean_keys"], drift["report_key"], config
        )
        if index == 0:
            steps.promote(settings, trained["version"], config)
        versions.append(trained["version"])
    return versions
