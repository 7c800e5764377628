"""Benchmark of the embedded backup and restore on a grown state.

Builds a state directory laid out like ``.state/``: one real pipeline run on a batch of
361,457 listings (raw and clean batches in the object store, a trained champion with its
artifacts in MLflow), then more registered versions with the champion's artifacts copied into
each (as every trained challenger stores its own), the Airflow database migrated with DAG runs,
and a prediction log. Then times ``embedded/backup.py``'s backup (MLflow still serving) and a
restore into an empty directory, and prints sizes.

    .venv/bin/python benchmarks/backup_bench.py [--rows 361457] [--versions 10]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "embedded"))

import backup  # noqa: E402  (embedded/backup.py)

from testsupport import servers  # noqa: E402
from testsupport.servers import one_batch_a_day  # noqa: E402

GROUP, DAY, MODEL = 5, "Tuesday", "house-price"


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def train_champion(env: dict[str, str]) -> None:
    code = (
        "from house_prices.pipeline import run_once\n"
        "from house_prices.settings import Settings\n"
        f"run_once(Settings.from_env(), {GROUP}, {DAY!r})\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)


def add_versions(tracking_uri: str, count: int, state: Path, scratch: Path) -> None:
    """``count`` more versions, each run carrying a copy of the champion's artifacts."""
    from mlflow.tracking import MlflowClient

    from house_prices import registry

    client = MlflowClient(tracking_uri)
    champion = registry.champion_version(client, MODEL)
    artifacts = Path(client.download_artifacts(champion.run_id, "", str(scratch)))
    # The logged model lives outside the run's artifacts (MLflow 3): copy it from the store.
    (model,) = (state / "mlflow" / "art").glob("*/models/*/artifacts")
    experiment = client.get_run(champion.run_id).info.experiment_id
    for number in range(count):
        run = client.create_run(experiment)
        client.log_artifacts(run.info.run_id, str(artifacts))
        client.log_artifacts(run.info.run_id, str(model), "model")
        version = client.create_model_version(
            MODEL, f"{run.info.artifact_uri}/model", run_id=run.info.run_id
        )
        registry.record_decision(
            client,
            version,
            {"promote": number % 3 == 0, "reason": "benchmark", "champion_version": "1"},
        )


def prediction_log(state: Path, rows: int) -> None:
    from model_server import predictions_log

    log = predictions_log.PredictionLog(f"sqlite:///{state}/model_server/predictions.db")
    now = datetime.now(UTC)
    record = {
        "created_at": now,
        "endpoint": "predict",
        "model_name": MODEL,
        "model_version": "1",
        "inputs": {"bed": 3, "bath": 2, "acre_lot": 0.12, "city": "Adjuntas", "house_size": 920},
        "output": {"price": 123456.0},
        "latency_ms": 4.2,
    }
    with log.engine.begin() as connection:
        connection.execute(
            predictions_log.predictions.insert(),
            [{**record, "request_id": f"{n:032x}"} for n in range(rows)],
        )
    log.engine.dispose()


def airflow_db(state: Path, runs: int) -> None:
    home = state / "airflow"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
    }
    airflow = str(servers.BIN / "airflow")
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([airflow, "dags", "reserialize"], env=env, check=True, capture_output=True)
    for _ in range(runs):
        subprocess.run(
            [airflow, "dags", "trigger", "house_price_pipeline"],
            env=env,
            check=True,
            capture_output=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=361_457)
    parser.add_argument("--versions", type=int, default=10)
    parser.add_argument("--predictions", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        state = work / "state"
        (state / "model_server").mkdir(parents=True)
        (state / "secrets.env").write_text("WEB_SECRET_KEY=benchmark\n")
        (state / "secrets.env").chmod(0o600)
        with (
            servers.mlflow_server(state / "mlflow") as mlflow_url,
            servers.emulator(work, timeout=300, **one_batch_a_day(args.rows)) as data_api,
        ):
            requests.get(f"{data_api}/health", timeout=30).raise_for_status()
            print("building the state: one pipeline run, versions, Airflow runs, predictions")
            train_champion(
                {
                    **os.environ,
                    "DATA_API_URL": data_api,
                    "MLFLOW_TRACKING_URI": mlflow_url,
                    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
                    "HOUSE_PRICES_STORAGE_ROOT": str(state / "objects"),
                    "HOUSE_PRICES_MODEL_NAME": MODEL,
                    "PYTHONPATH": str(REPO),
                }
            )
            add_versions(mlflow_url, args.versions - 1, state, work / "scratch")
            airflow_db(state, 5)
            prediction_log(state, args.predictions)
            state_bytes = tree_size(state)

            start = time.perf_counter()
            archive = backup.backup(state, work / "backups")
            backup_s = time.perf_counter() - start
        start = time.perf_counter()
        backup.restore(archive, work / "restored")
        restore_s = time.perf_counter() - start
        result = {
            "rows": args.rows,
            "versions": args.versions,
            "predictions": args.predictions,
            "state_mb": round(state_bytes / 1e6, 1),
            "objects_mb": round(tree_size(state / "objects") / 1e6, 1),
            "mlflow_mb": round(tree_size(state / "mlflow") / 1e6, 1),
            "archive_mb": round(archive.stat().st_size / 1e6, 1),
            "backup_s": round(backup_s, 1),
            "restore_s": round(restore_s, 1),
            "cores": os.cpu_count(),
        }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
