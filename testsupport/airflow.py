"""Airflow's own CLI run against this checkout's DAGs: an Airflow home, `airflow dags test`."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from testsupport.servers import BIN

REPO = Path(__file__).resolve().parents[1]
PIPELINE_DAG = "house_price_pipeline"


def airflow_home(home: Path, mlflow_url: str, s3_url: str) -> dict[str, str]:
    """A migrated Airflow home; the environment for DAG runs against real MLflow and S3."""
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
        [str(BIN / "airflow"), "db", "migrate"],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    return env


def dags_test(dag_id: str, env: dict[str, str], *args: str) -> str:
    """`airflow dags test` of one DAG with `env` over this process's environment; its output,
    after checking the command succeeded."""
    result = subprocess.run(
        [str(BIN / "airflow"), "dags", "test", dag_id, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    return output


def run_dag(env: dict[str, str], data_api: str, conf: dict) -> str:
    """`airflow dags test` of the pipeline DAG; its output, after checking no task failed."""
    output = dags_test(PIPELINE_DAG, {**env, "DATA_API_URL": data_api}, "-c", json.dumps(conf))
    assert "failed" not in task_states(output), output[-5000:]
    return output


def task_states(output: str) -> set[str]:
    return {
        line.split("state=")[1].split()[0].strip(",")
        for line in output.splitlines()
        if "Marking task as" in line and "state=" in line
    }
