"""The retention DAG run by Airflow itself (`airflow dags test`) against a real MLflow server,
a real S3 server (moto), a prediction log and a task log folder with expired content."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from house_prices import registry
from testsupport import prediction_log, servers
from testsupport.airflow import REPO, dags_test

pytestmark = pytest.mark.integration

MAINTENANCE_DAG = "house_price_maintenance"


def _run_maintenance(airflow_env: dict[str, str], **env: str) -> str:
    """`airflow dags test` of the maintenance DAG; its output, after checking no task failed."""
    # PYTHONPATH: this checkout's package, not whichever one the venv has installed.
    output = dags_test(MAINTENANCE_DAG, {**airflow_env, **env, "PYTHONPATH": str(REPO)})
    assert "new_state=failed" not in output, output[-5000:]
    return output


def test_maintenance_dag_prunes_expired_rows_and_logs(airflow_env, tmp_path):
    state = tmp_path / "model_server"
    state.mkdir()
    url = f"sqlite:///{state}/predictions.db"
    now = datetime.now(UTC)
    prediction_log.write_aged_rows(url, (1, 5, 40), now)
    logs = tmp_path / "logs"
    old_log = logs / "dag_id=x" / "run_id=old" / "attempt=1.log"
    old_log.parent.mkdir(parents=True)
    old_log.write_text("old")
    old = (now - timedelta(days=9)).timestamp()
    os.utime(old_log, (old, old))

    output = _run_maintenance(
        airflow_env,
        MODEL_SERVER_STATE_DIR=str(state),
        HOUSE_PRICES_RETAIN_PREDICTIONS_DAYS="3",
        HOUSE_PRICES_RETAIN_AIRFLOW_DAYS="7",
        AIRFLOW__LOGGING__BASE_LOG_FOLDER=str(logs),
    )
    ended = [line for line in output.splitlines() if "[DAG TEST] end task" in line]
    assert len(ended) == 5, output[-5000:]
    (run,) = [line for line in output.splitlines() if "Marking run <DagRun" in line]
    assert run.rstrip().split("> ")[1].startswith("successful"), run
    assert prediction_log.request_ids(url) == ["age1"]
    assert not old_log.exists()


def _files(directory) -> list:
    return [path for path in directory.rglob("*") if path.is_file()] if directory.exists() else []


def _register(client, name: str, promote: bool, decided_days_ago: int):
    """A version with a real logged model (files on disk) and a lineage document, decided."""
    import mlflow
    from sklearn.linear_model import LinearRegression

    with mlflow.start_run() as run:
        mlflow.log_dict({"batch_keys": []}, "lineage.json")
        info = mlflow.sklearn.log_model(
            LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]),
            name="model",
            registered_model_name=name,
            serialization_format="cloudpickle",
            pip_requirements=["scikit-learn"],
        )
    version = registry.find_version_by_number(client, name, str(info.registered_model_version))
    registry.record_decision(client, version, {"promote": promote, "reason": "test"})
    decided = (datetime.now(UTC) - timedelta(days=decided_days_ago)).isoformat(timespec="seconds")
    client.set_model_version_tag(name, version.version, "decided_at", decided)
    return run.info, info.model_id


def test_maintenance_dag_garbage_collects_a_rejected_version(airflow_env, tmp_path):
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    workdir = tmp_path / "mlflow"
    artifacts = workdir / "art"
    name = "gc-test"
    with servers.mlflow_server(workdir) as url:
        previous = mlflow.get_tracking_uri()
        mlflow.set_tracking_uri(url)
        try:
            client = MlflowClient(url)
            champion_run, champion_model = _register(client, name, True, 40)
            rejected_run, rejected_model = _register(client, name, False, 40)
        finally:
            mlflow.set_tracking_uri(previous)
        experiment = rejected_run.experiment_id
        rejected_dirs = [
            artifacts / experiment / rejected_run.run_id,
            artifacts / experiment / "models" / rejected_model,
        ]
        champion_dirs = [
            artifacts / experiment / champion_run.run_id,
            artifacts / experiment / "models" / champion_model,
        ]
        assert all(_files(d) for d in rejected_dirs + champion_dirs)

        output = _run_maintenance(
            airflow_env,
            MLFLOW_TRACKING_URI=url,
            MLFLOW_BACKEND_STORE_URI=f"sqlite:///{workdir}/mlflow.db",
            HOUSE_PRICES_MODEL_NAME=name,
            HOUSE_PRICES_RETAIN_UNPROMOTED_DAYS="14",
        )
        assert f"Run with ID {rejected_run.run_id} has been permanently deleted" in output

        with pytest.raises(MlflowException, match=r"RESOURCE_DOES_NOT_EXIST|not found"):
            client.get_run(rejected_run.run_id)
        assert client.get_run(champion_run.run_id).info.lifecycle_stage == "active"
        assert registry.champion_version(client, name).run_id == champion_run.run_id
    engine = sa.create_engine(f"sqlite:///{workdir}/mlflow.db")
    with engine.connect() as connection:
        runs = connection.execute(sa.text("SELECT run_uuid FROM runs")).scalars().all()
        models = connection.execute(sa.text("SELECT model_id FROM logged_models")).scalars().all()
    engine.dispose()
    assert runs == [champion_run.run_id]
    assert models == [champion_model]
    assert [_files(d) for d in rejected_dirs] == [[], []]
    assert all(_files(d) for d in champion_dirs)
