"""The retention DAG run by Airflow itself (`airflow dags test`) against a real MLflow server,
a real S3 server (moto), a prediction log and a task log folder with expired content."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from model_server import predictions_log
from testsupport import servers
from testsupport.airflow import REPO

pytestmark = pytest.mark.integration


def test_maintenance_dag_prunes_expired_rows_and_logs(airflow_env, tmp_path):
    state = tmp_path / "model_server"
    state.mkdir()
    url = f"sqlite:///{state}/predictions.db"
    log = predictions_log.PredictionLog(url)
    now = datetime.now(UTC)
    with log.engine.begin() as connection:
        connection.execute(
            predictions_log.predictions.insert(),
            [
                {
                    "request_id": f"age{age}",
                    "created_at": now - timedelta(days=age),
                    "endpoint": "predict",
                    "model_name": "m",
                    "model_version": "1",
                    "inputs": {},
                    "output": {},
                    "latency_ms": 1.0,
                }
                for age in (1, 5, 40)
            ],
        )
    log.engine.dispose()
    logs = tmp_path / "logs"
    old_log = logs / "dag_id=x" / "run_id=old" / "attempt=1.log"
    old_log.parent.mkdir(parents=True)
    old_log.write_text("old")
    old = (now - timedelta(days=9)).timestamp()
    os.utime(old_log, (old, old))

    env = {
        **os.environ,
        **airflow_env,
        "MODEL_SERVER_STATE_DIR": str(state),
        "HOUSE_PRICES_RETAIN_PREDICTIONS_DAYS": "3",
        "HOUSE_PRICES_RETAIN_AIRFLOW_DAYS": "7",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(logs),
        # This checkout's package, not whichever one the venv has installed.
        "PYTHONPATH": str(REPO),
    }
    result = subprocess.run(
        [str(servers.BIN / "airflow"), "dags", "test", "house_price_maintenance"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    ended = [line for line in output.splitlines() if "[DAG TEST] end task" in line]
    assert len(ended) == 4, output[-5000:]
    assert "new_state=failed" not in output, output[-5000:]
    (run,) = [line for line in output.splitlines() if "Marking run <DagRun" in line]
    assert run.rstrip().split("> ")[1].startswith("successful"), run
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        left = connection.execute(sa.select(predictions_log.predictions.c.request_id)).scalars()
        assert sorted(left) == ["age1"]
    engine.dispose()
    assert not old_log.exists()
