"""The DAG run by Airflow itself (`airflow dags test`) against a real MLflow server, a real
S3-compatible server (moto) and the data API emulator under gunicorn."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from house_prices import keys, registry, run_documents
from house_prices.settings import Settings
from house_prices.storage import open_store, read_json
from testsupport.airflow import run_dag
from testsupport.servers import DRIFTING_BATCHES, emulator

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def data_api(tmp_path_factory):
    with emulator(tmp_path_factory.mktemp("emulator"), **DRIFTING_BATCHES) as url:
        yield url


def test_dag_trains_registers_and_promotes_then_reruns_without_duplicates(airflow_env, data_api):
    import requests

    settings = Settings.from_env(airflow_env)
    store = open_store(settings)
    name = settings.model_name
    client = MlflowClient(settings.mlflow_tracking_uri)
    conf = {"group_number": 3, "day": "Wednesday"}

    # First run: batch 1 is stored, cleaned, no champion -> train, register, promote.
    run_dag(airflow_env, data_api, conf)
    raw = keys.raw_key(3, "Wednesday", 1)
    assert store.list("raw/") == [raw]
    assert store.exists(keys.clean_key(3, "Wednesday", 1))
    drift_reports = store.list("reports/drift/")
    assert len(drift_reports) == 1
    assert read_json(store, drift_reports[0])["note"].startswith("no champion")
    versions = client.search_model_versions(f"name = '{name}'")
    assert [v.version for v in versions] == ["1"]
    champion = registry.champion_version(client, name)
    assert champion.version == "1"
    assert champion.tags["decision"] == "promoted"
    assert "first model" in champion.tags["decision_reason"]
    assert champion.tags["latest_batch"] == keys.clean_key(3, "Wednesday", 1)
    run = client.get_run(champion.run_id)
    assert {"rmse", "mae", "r2", "mape"} <= set(run.data.metrics)
    assert run.data.params["n_estimators"] == "50"
    artifacts = {a.path for a in client.list_artifacts(champion.run_id)}
    assert set(run_documents.RUN_DOCUMENTS) <= artifacts
    raw_bytes = store.get(raw)

    # Second run on the same batch (the API's sequence restarted): nothing new anywhere.
    requests.get(f"{data_api}/restart_data_generation", params=conf, timeout=10).raise_for_status()
    output = run_dag(airflow_env, data_api, conf)
    assert "skipping training: champion v1 was trained on exactly these batches" in output
    assert store.list("raw/") == [raw]
    assert store.get(raw) == raw_bytes
    assert len(client.search_model_versions(f"name = '{name}'")) == 1

    # Third run: batch 2 drifted (prices up 60 %) -> a challenger is trained and decided on.
    output = run_dag(airflow_env, data_api, conf)
    assert "training: drift against champion v1's data in:" in output
    assert store.exists(keys.raw_key(3, "Wednesday", 2))
    report = read_json(store, store.list("reports/drift/group=3/day=Wednesday/batch=0002")[0])
    assert report["dataset_drift"] is True and "price" in report["drifted_features"]
    decisions = registry.list_decisions(client, name)
    assert [d["version"] for d in decisions] == ["2", "1"]
    assert decisions[0]["decision"] in ("promoted", "rejected")
    assert decisions[0]["compared_with"] == "1"
    assert "holdout RMSE" in decisions[0]["reason"]
    # The emulator re-serves a fifth of batch 1 in batch 2 (as the real API does): each listing
    # is trained on once, and no holdout listing was in either model's training data.
    assert "neither was trained on" in decisions[0]["reason"]
    assert decisions[0]["holdout_overlap"] == "0"
    challenger = client.get_run(decisions[0]["run_id"])
    assert int(challenger.data.params["listing_copies_removed"]) >= 0.15 * 4000
