"""Two MLflow stores in one process: logging and loading go where the client points, and
MLflow's process-wide tracking URI is left as it was."""

import importlib

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from house_prices import registry
from house_prices.features import FEATURES
from house_prices.identity import LISTING_ID
from house_prices.training import TrainingConfig, build_pipeline


@pytest.fixture(scope="module")
def rows():
    rng = np.random.default_rng(3)
    n = 200
    size = rng.normal(1800, 400, n).clip(400)
    return pd.DataFrame(
        {
            "bed": rng.integers(1, 6, n).astype(float),
            "bath": rng.integers(1, 4, n).astype(float),
            "acre_lot": rng.exponential(0.3, n),
            "house_size": size,
            "state": pd.Series(rng.choice(["Ohio", "Texas"], n), dtype="string"),
            "status": pd.Series(rng.choice(["sold", "for_sale"], n), dtype="string"),
            "price": size * 180,
            LISTING_ID: pd.Series([f"{i:016x}" for i in range(n)], dtype="string"),
        }
    )


def _store(tmp_path, name: str) -> MlflowClient:
    """A registry in its own SQLite file with its experiment's artifacts under tmp_path."""
    client = registry.connect(f"sqlite:///{tmp_path / name}.db")
    client.create_experiment("houses", artifact_location=(tmp_path / f"{name}-art").as_uri())
    return client


def _log(client: MlflowClient, pipeline, rows, model: str) -> registry.RegisteredModel:
    return registry.log_and_register(
        client,
        pipeline,
        name=model,
        experiment="houses",
        train=rows,
        params={"family": "random_forest"},
        metrics={"r2": 0.5},
        tags={"data_fingerprint": model},
        documents={"lineage.json": {"model": model}},
    )


def test_two_registries_in_one_process_stay_apart(tmp_path, rows):
    pipeline = build_pipeline(TrainingConfig(params={"n_estimators": 3, "max_depth": 3}))
    pipeline.fit(rows[list(FEATURES)], rows["price"])
    elsewhere = f"sqlite:///{tmp_path / 'elsewhere'}.db"
    before = mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None
    mlflow.set_tracking_uri(elsewhere)
    try:
        first, second = _store(tmp_path, "first"), _store(tmp_path, "second")
        in_first = _log(first, pipeline, rows, "house-a")
        in_second = _log(second, pipeline, rows, "house-b")
        assert mlflow.get_tracking_uri() == elsewhere
    finally:
        mlflow.set_tracking_uri(before)

    for client, model, other in ((first, in_first, "house-b"), (second, in_second, "house-a")):
        assert [m.name for m in client.search_registered_models()] == [model.name]
        assert client.search_model_versions(f"name = '{other}'") == []
        run = client.get_run(model.run_id)
        assert run.info.status == "FINISHED"
        assert run.data.tags["data_fingerprint"] == model.name
        assert run.data.metrics == {"r2": 0.5}
        assert model.tags["data_fingerprint"] == model.name
        assert registry.read_document(client, model.run_id, "lineage.json") == {"model": model.name}
        loaded = registry.load_model(client, model)
        np.testing.assert_allclose(
            loaded.predict(rows[list(FEATURES)].head(5)),
            pipeline.predict(rows[list(FEATURES)].head(5)),
        )
    assert MlflowClient(elsewhere).search_registered_models() == []


@pytest.mark.parametrize("failing", ["documents", "model"])
def test_a_failed_logging_fails_its_run_and_restores_the_tracking_uri(
    tmp_path, rows, monkeypatch, failing
):
    def refuse(*args, **kwargs):
        raise RuntimeError("artifact store full")

    client = _store(tmp_path, "only")
    pipeline = build_pipeline(TrainingConfig(params={"n_estimators": 3, "max_depth": 3}))
    pipeline.fit(rows[list(FEATURES)], rows["price"])
    before = mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None
    if failing == "documents":
        monkeypatch.setattr(client, "log_artifact", refuse)
    else:
        monkeypatch.setattr(importlib.import_module("mlflow.sklearn"), "log_model", refuse)
    with pytest.raises(RuntimeError, match="artifact store full"):
        _log(client, pipeline, rows, "house-a")
    assert (mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None) == before
    runs = client.search_runs([client.get_experiment_by_name("houses").experiment_id])
    assert [run.info.status for run in runs] == ["FAILED"]
    assert client.search_registered_models() == []
