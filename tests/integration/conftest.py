"""Integration fixtures: the data API emulator under gunicorn, and an Airflow home."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

import pytest

from tests import servers

REPO = Path(__file__).resolve().parents[2]


#: Interval 0: every call hands out the next batch; prices up 60 % a batch, so the second
#: batch drifts against the first.
DRIFTING_BATCHES = {
    "rows_per_batch": 4000,
    "batches_per_day": 3,
    "min_interval_seconds": 0,
    "drift_price_per_batch": 0.6,
}


@contextlib.contextmanager
def emulator(workdir: Path, **settings: object):
    """The emulator under gunicorn (one worker: its batch sequence is in-process state)."""
    port = servers.free_port()
    env = {f"DATA_API_EMULATOR_{key.upper()}": str(value) for key, value in settings.items()}
    command = servers.gunicorn_command("data_api_emulator.app:create_app()", port)
    url = f"http://127.0.0.1:{port}"
    with servers.serve(command, f"{url}/health", workdir / "emulator.log", env):
        yield url


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory, mlflow_url, s3_url):
    """Environment for Airflow CLI runs of the DAG against real MLflow, S3 and the emulator."""
    home = tmp_path_factory.mktemp("airflow")
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "HOUSE_PRICES_STORAGE": "s3",
        "HOUSE_PRICES_S3_ENDPOINT": s3_url,
        "HOUSE_PRICES_S3_BUCKET": f"pipeline-{home.name.lower()}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "MLFLOW_TRACKING_URI": mlflow_url,
        "HOUSE_PRICES_MODEL_NAME": f"house-price-{home.name.lower()}",
        "HOUSE_PRICES_EXPERIMENT": f"dag-test-{home.name.lower()}",
        "DATA_API_RETRIES": "1",
    }
    subprocess.run(
        [str(servers.BIN / "airflow"), "db", "migrate"],
        env={**_base_env(), **env},
        check=True,
        capture_output=True,
    )
    return env


def _base_env() -> dict[str, str]:
    import os

    return dict(os.environ)
