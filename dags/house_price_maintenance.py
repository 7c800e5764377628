"""
### House-price maintenance: retention

Runs once a day and removes what grows with every pipeline run once it is older than its
limit (`HOUSE_PRICES_RETAIN_*_DAYS`, see `house_prices/retention.py`): stored batches outside
the champion's lineage (the newest batch of each group/day stays), other models' references
and holdouts, drift and run reports, prediction log rows, rejected registry versions (their
runs and logged models are marked deleted, then `mlflow gc` removes them and their artifacts),
Airflow metadata (`airflow db clean`) and task logs. Nothing the champion, its lineage or a
restore needs is removed. In the cluster, task pods hold no database password: `mlflow gc` and
the prediction log's retention run as CronJobs next to the MLflow server and the model server.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from airflow.sdk import dag, task

from house_prices.dag_header import dag_header


def _retention():
    from house_prices.retention import RetentionSettings

    return RetentionSettings.from_env()


@dag(
    **dag_header(__file__, __doc__),
    schedule=timedelta(days=1),
    # Runs on its schedule from the start (the pipeline DAG is unpaused by `./appliance up`).
    is_paused_upon_creation=False,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=5)},
    tags=["house-prices", "maintenance"],
)
def house_price_maintenance():
    @task
    def prune_store() -> int:
        """Expired batches, references, holdouts and reports; the champion's lineage stays."""
        from house_prices import registry, retention
        from house_prices.settings import Settings
        from house_prices.storage import open_store

        settings = Settings.from_env()
        client = registry.connect(settings.mlflow_tracking_uri)
        protected = retention.protected_keys(
            retention.champion_lineage(client, settings.model_name)
        )
        deleted = retention.prune_store(
            open_store(settings), protected, _retention(), datetime.now(UTC)
        )
        return len(deleted)

    @task
    def prune_predictions() -> int:
        """Prediction log rows older than the limit (where this task can reach the log)."""
        from house_prices import retention

        settings = _retention()
        if not settings.predictions_url:
            print("no MODEL_SERVER_DATABASE_URL or MODEL_SERVER_STATE_DIR here: skipped (in the")
            print("cluster the model server's prediction-log-retention CronJob prunes the log)")
            return 0
        return retention.prune_predictions(settings.predictions_url, settings, datetime.now(UTC))

    @task
    def prune_registry() -> list[str]:
        """Rejected versions decided before the limit (never one that was promoted)."""
        from house_prices import registry, retention
        from house_prices.settings import Settings

        settings = Settings.from_env()
        client = registry.connect(settings.mlflow_tracking_uri)
        return retention.prune_unpromoted_versions(
            client, settings.model_name, _retention(), datetime.now(UTC)
        )

    @task
    def collect_mlflow_garbage() -> int:
        """`mlflow gc`: runs and logged models marked deleted, and their artifacts."""
        store = _retention().mlflow_backend_store_uri
        if not store:
            print("no MLFLOW_BACKEND_STORE_URI here: skipped (the cluster runs mlflow gc in the")
            print("mlflow-gc CronJob, with the MLflow server's own credentials)")
            return 0
        mlflow = Path(sys.executable).parent / "mlflow"
        result = subprocess.run(
            [str(mlflow), "gc", "--backend-store-uri", store],
            check=True,
            capture_output=True,
            text=True,
        )
        print(result.stdout, result.stderr)
        return result.stdout.count("has been permanently deleted")

    @task
    def prune_airflow() -> int:
        """`airflow db clean` of old metadata, then old task log files."""
        from house_prices import retention

        settings = _retention()
        if settings.airflow_days == 0:
            return 0
        now = datetime.now(UTC)
        before = (now - timedelta(days=settings.airflow_days)).isoformat()
        airflow = Path(sys.executable).parent / "airflow"
        subprocess.run(
            [
                str(airflow),
                "db",
                "clean",
                "--clean-before-timestamp",
                before,
                "--skip-archive",
                "-y",
            ],
            check=True,
        )
        if not settings.airflow_log_folder:
            return 0
        return len(retention.prune_airflow_logs(Path(settings.airflow_log_folder), settings, now))

    prune_store()
    prune_predictions()
    prune_registry() >> collect_mlflow_garbage()
    prune_airflow()


house_price_maintenance()
