"""For the benchmarks: a real MLflow server with one trained champion, and the model server
under gunicorn serving it."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

from house_prices.settings import Settings
from testsupport.model_server import Gunicorn
from testsupport.registered_models import raw_batch, register_versions
from testsupport.servers import mlflow_server

#: The benchmarks' model: bigger than the tests' 20 trees, as in production.
BENCH_PARAMS = {"n_estimators": 50, "max_depth": 10}


@contextlib.contextmanager
def served_champion(
    workdir: Path,
    rows: int,
    make_batch: Callable[..., pd.DataFrame] = raw_batch,
    server_env: dict[str, str] | None = None,
) -> Iterator[tuple[str, Gunicorn]]:
    """MLflow with a RandomForest(50, depth 10) champion trained on ``rows`` rows of
    ``make_batch``, and our gunicorn ready on it; yields (MLflow URL, server)."""
    with mlflow_server(workdir / "mlflow") as mlflow_url:
        settings = Settings(storage_root=workdir / "objects", mlflow_tracking_uri=mlflow_url)
        began = time.perf_counter()
        register_versions(settings, count=1, rows=rows, make_batch=make_batch, params=BENCH_PARAMS)
        print(
            f"registered RandomForest(50, depth 10) on {rows} rows "
            f"in {time.perf_counter() - began:.0f} s",
            flush=True,
        )
        env = {"MLFLOW_TRACKING_URI": mlflow_url, **(server_env or {})}
        server = Gunicorn(workdir / "server", env)
        try:
            server.wait_ready(180)
            yield mlflow_url, server
        finally:
            server.terminate(timeout=30)
